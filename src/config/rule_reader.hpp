#pragma once
// Internal to src/config: rule_reader, the reader and validator of one rule file (its JSON already
// parsed by simdjson's DOM), and the few text helpers its checks and messages share with the
// directory loader. The reader is split by section: rule_reader.cpp (the top level, match, auth,
// upstream, and parse_rule, the public entry in config/rule_loader.hpp) and rule_sections.cpp
// (request, response, deprecation).
#include <simdjson.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "config/rule_set.hpp"

namespace shimgate::rule_detail {

namespace dom = simdjson::dom;

// Path parameter names: they are also looked up by name in path_params and the upstream path.
bool is_identifier(std::string_view s);
// Rule and dialect names end up in logs and metric labels.
bool is_label(std::string_view s);
// RFC 3986 pchar, except '%' which normalize_path checks.
bool is_pchar(char c);

std::string in_quotes(std::string_view s);
const char* json_type_name(dom::element e);
// "where.key", or "key" at the top level.
std::string join(std::string_view where, std::string_view key);
// "where[i]"
std::string indexed(std::string_view where, std::size_t i);
std::string one_of(std::initializer_list<std::string_view> names, std::string_view sep);

// Walks one rule file. Every reader returns false after recording the first problem; the
// message names the file, the rule (once its name is known) and the key path.
class rule_reader {
  public:
    explicit rule_reader(std::string_view file) : file_(file) {}

    bool read(dom::element root, rule& r);
    const std::string& error() const { return error_; }

  private:
    bool fail(std::string_view where, std::string_view problem) {
        error_ = file_ + ": ";
        if (!rule_name_.empty()) error_ += "rule " + in_quotes(rule_name_) + ": ";
        if (!where.empty()) error_ += std::string(where) + ": ";
        error_ += problem;
        // One line whatever the rule file holds: quoted keys and values may carry control
        // characters (from JSON escapes); they are shown as \u00XX.
        std::string clean;
        for (const char ch : error_) {
            const auto c = static_cast<unsigned char>(ch);
            if (c < 0x20 || c == 0x7f) {
                static constexpr char hex[] = "0123456789abcdef";
                clean += "\\u00";
                clean += hex[c >> 4];
                clean += hex[c & 0xF];
            } else {
                clean += ch;
            }
        }
        error_ = std::move(clean);
        return false;
    }
    bool wrong_type(std::string_view where, std::string_view expected, dom::element got) {
        return fail(where, "expected " + std::string(expected) + ", got " + json_type_name(got));
    }

    // An object whose keys are all in `allowed`, each at most once, with every `required` key.
    bool keys(dom::element e, std::string_view where,
              std::initializer_list<std::string_view> allowed,
              std::initializer_list<std::string_view> required, dom::object& out);
    // An object used as a map (keys chosen by the author): only duplicates are refused.
    bool map(dom::element e, std::string_view where, dom::object& out);
    bool string(dom::element e, std::string_view where, std::string& out, bool non_empty = true);
    bool boolean(dom::element e, std::string_view where, bool& out);
    bool array(dom::element e, std::string_view where, dom::array& out, bool non_empty = true);
    bool token(dom::element e, std::string_view where, std::string& out, std::string_view what);
    bool method(dom::element e, std::string_view where, std::string& out);

    bool read_match(dom::element e, rule& r);
    bool read_template(std::string_view where, rule& r);
    bool read_auth(dom::element e, rule& r);
    bool read_request(dom::element e, rule& r);
    bool read_field(std::string_view name, dom::element e, std::string_view where, field_rule& f);
    bool read_renames(dom::element e, std::string_view where, rule& r);
    bool read_path_params(dom::element e, std::string_view where, rule& r);
    bool read_upstream(dom::element e, rule& r);
    bool read_response(dom::element e, rule& r);
    bool read_deprecation(dom::element e, rule& r);
    // A rule date (RFC 3339 date or date-time, from 1970 on, no leap second) as unix seconds.
    bool read_date(dom::element e, std::string_view where, std::int64_t& out);
    // deprecation.brownouts: each window inside [deprecation, sunset], none overlapping; sorted.
    bool read_brownouts(dom::element e, deprecation_rule& d);

    const field_rule* field(const rule& r, std::string_view name) const {
        for (const auto& f : r.fields)
            if (f.name == name) return &f;
        return nullptr;
    }
    static bool has_param(const rule& r, std::string_view name) {
        for (const auto& s : r.segments)
            if (s.is_param && s.text == name) return true;
        return false;
    }

    std::string file_;
    std::string rule_name_;
    std::string error_;
};

}  // namespace shimgate::rule_detail
