#pragma once
// One strict forward pass over a JSON object, member by member: each key and value is located in
// the input (to be copied byte-for-byte) and checked with the full RFC 8259 grammar of
// check_json_value as it is read, and so are the commas, colons and braces between them. A walk
// that reaches the end of the root object without a problem has therefore checked every byte of
// the text: nothing is skipped unchecked (what simdjson On-Demand does with values it is not asked
// for). No allocation but the scratch buffer for unescaped text, no recursion.
//
// Limits: each member's value is checked on its own with check_json_value's depth limit
// (max_json_depth levels), so a body may nest max_json_depth + 1 levels counting its root object,
// and one level more inside a member object entered with enter_object. There is no size limit
// here (the session applies --max-body before). Duplicate keys are the callers' to refuse
// (find_duplicate, json_splice.hpp). tests/fuzz/fuzz_json_reader holds these verdicts to an
// independent checker's.
#include <string>
#include <string_view>

#include "json/json_scan.hpp"
#include "json/json_validate.hpp"

namespace shimgate {

// One object member, as views into the input (or into the scratch buffer for unescaped text).
struct json_member {
    std::string_view raw_key;  // the key token as written, quotes included: "\u0061"
    std::string_view key;      // unescaped: a
    json_kind kind = json_kind::null;
    std::string_view value;      // the value as written, without surrounding whitespace
    bool escaped_value = false;  // a string value holding a backslash (see string_content)
};

// `token` (a checked string token) unescaped onto `scratch`, as member_string does.
bool unescape_into(std::string& scratch, std::size_t text_size, std::string_view token,
                   std::string_view& out) noexcept;

class json_object_reader {
  public:
    // `scratch` receives unescaped keys and strings: cleared here, it must outlive the views.
    json_object_reader(std::string_view text, std::string& scratch) noexcept
        : scan_(text), text_(text), scratch_(scratch) {
        scratch_.clear();
    }

    // Opens the root object: false if the text, after whitespace, does not begin with '{'.
    bool open() noexcept;

    // The next member of the innermost open object: reads its key and the ':' after it. false at
    // the end of that object (its '}' read; at the root's, only whitespace may follow) or on a
    // problem (see problem()).
    bool next_key(json_member& m) noexcept;

    // Reads and checks the value of the member whose key was just read (m.kind, m.value).
    bool read_value(json_member& m) noexcept;

    // Enters the value of the member whose key was just read when it is an object: next_key then
    // walks its members, and returns false at its end, after which the parent's walk goes on.
    // false if the value is not an object (m.kind tells what it is; nothing is read).
    bool enter_object(json_member& m) noexcept;

    // What is wrong, once a call has returned false for a reason other than an object's end;
    // empty while the text is fine.
    std::string_view problem() const noexcept { return problem_; }
    // Whether that problem is inside the value read last (rather than between members).
    bool problem_in_value() const noexcept { return problem_in_value_; }
    // Whether the root object has been closed (with nothing but whitespace after it).
    bool done() const noexcept { return open_ == 0 && problem_.empty() && opened_; }

    // member_string on this reader's scratch buffer.
    bool string_content(const json_member& m, std::string_view& out) noexcept;

  private:
    bool fail(const char* problem, bool in_value = false) noexcept {
        problem_ = problem;
        problem_in_value_ = in_value;
        return false;
    }
    bool close_object() noexcept;

    detail::json_scanner scan_;
    std::string_view text_;
    std::string& scratch_;
    int open_ = 0;  // objects open: 1 = the root, 2 = an entered member object, ...
    bool opened_ = false;
    bool first_ = true;  // no member read yet in the innermost open object
    std::string_view problem_;
    bool problem_in_value_ = false;
};

// next_key and read_value run once per member: inline, so a caller's loop holds the whole pass.

inline bool json_object_reader::next_key(json_member& m) noexcept {
    if (!problem_.empty() || open_ == 0) return false;
    scan_.skip_ws();
    if (scan_.at_end()) return fail("unexpected end of value");
    const char c = scan_.peek();
    if (c == '}') return close_object();
    if (!first_) {
        if (c != ',') return fail("expected ',' or '}'");
        scan_.set_pos(scan_.pos() + 1);
        scan_.skip_ws();
    }
    if (scan_.at_end() || scan_.peek() != '"') return fail("expected a key");
    const std::size_t begin = scan_.pos();
    bool escaped = false;
    if (const char* p = scan_.string(escaped)) return fail(p);
    m.raw_key = std::string_view(text_.data() + begin, scan_.pos() - begin);
    m.key = std::string_view(m.raw_key.data() + 1, m.raw_key.size() - 2);
    m.escaped_value = false;
    if (escaped && !unescape_into(scratch_, text_.size(), m.raw_key, m.key))
        return fail("key unescaped twice");
    scan_.skip_ws();
    if (scan_.at_end() || scan_.peek() != ':') return fail("expected ':'");
    scan_.set_pos(scan_.pos() + 1);
    scan_.skip_ws();
    first_ = false;
    return true;
}

inline bool json_object_reader::read_value(json_member& m) noexcept {
    if (!problem_.empty()) return false;
    if (scan_.at_end()) return fail("unexpected end of value", true);
    const std::size_t begin = scan_.pos();
    const char c = scan_.peek();
    m.kind = detail::json_scanner::kind_of(c);
    const char* p = nullptr;
    if (c == '"') {
        bool escaped = false;
        p = scan_.string(escaped);
        m.escaped_value = escaped;
    } else {
        p = scan_.value();
    }
    if (p) return fail(p, true);
    m.value = std::string_view(text_.data() + begin, scan_.pos() - begin);
    return true;
}

// The unescaped content of string member `m` of a text of `text_size` bytes: a view of its value
// when it has no escape, else unescaped onto `scratch` (the reader's scratch buffer, for a member
// it read). false if `m` is not a string, or if `scratch` would have to move (it is reserved to
// the text's size at the first escape: never when each string is unescaped at most once).
bool member_string(const json_member& m, std::string& scratch, std::size_t text_size,
                   std::string_view& out) noexcept;

// Appends the unescaped content of `token`, a string token checked by the scanner (quotes
// included): escapes become UTF-8 (a \u surrogate pair one 4-byte sequence), the rest is copied.
void append_unescaped(std::string& out, std::string_view token);

}  // namespace shimgate
