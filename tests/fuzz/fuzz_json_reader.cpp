// fuzz_json_reader: the strict JSON reader (src/json/) against an independent checker, both ways.
//
// Input: the bytes of one body, as the session hands them to select_by_body / transform_request.
//
// The truth is fuzz_common.hpp's oracle: a recursive-descent RFC 8259 parser that shares no code
// with src/json/ (it calls nothing of the shim). Its one departure from RFC 8259's grammar is
// the shim's documented one: a \u escape of a lone surrogate is refused (json_validate.hpp). The
// reader's verdicts must equal the oracle's under the reader's documented limits, which this
// target applies to the oracle's answer:
//  - nesting: check_json_value refuses a value nested deeper than max_json_depth (1024); the
//    members reader checks each top-level member's value on its own, so a body may nest one level
//    more (the root object + 1024); an object member entered with enter_object (as the response
//    rewrite enters its source object) one more again;
//  - the members reader wants an object: a text whose first non-whitespace byte is not '{' is
//    "not an object", any other invalid text "malformed";
//  - duplicate top-level keys (compared unescaped) are not refused by the reader but by its users
//    (find_duplicate): it must find exactly the oracle's duplicates;
//  - size: the reader has no limit of its own (the session's --max-body is applied before);
//    libFuzzer's -max_len (8192 in fuzz.sh) bounds the input.
// Both directions are checked: accepted => valid JSON within the limits, and valid JSON within the
// limits => accepted. On acceptance the members must be the oracle's: same keys (unescaped), raw
// key and value text, kind, and unescaped string content, in order.
//
// simdjson's DOM is a second opinion on the oracle: anything it accepts the oracle must accept.
// It refuses some valid JSON the oracle (and the shim) accept: numbers it cannot represent
// (NUMBER_ERROR: 1e400, big integers) and nesting past its own depth; those are
// let through and counted, any other refusal of a text the oracle accepts aborts (to be looked at).
// Also run on the same bytes: select_by_body on the StateSet pair (the request path's first use
// of the members) must pick the group rule exactly when the oracle sees a top-level
// "user_group_id" in a valid object within the limits.
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "json/json_members.hpp"
#include "json/json_reader.hpp"
#include "json/json_splice.hpp"
#include "json/json_validate.hpp"
#include "proxy/route.hpp"

using namespace shimgate;

namespace {

constexpr int value_limit = static_cast<int>(max_json_depth);

char first_byte(std::string_view s) {
    const std::string_view t = trim_json_whitespace(s);
    return t.empty() ? '\0' : t.front();
}

json_kind kind_from(std::string_view raw) {
    switch (raw.front()) {
        case '{':
            return json_kind::object;
        case '[':
            return json_kind::array;
        case '"':
            return json_kind::string;
        case 't':
        case 'f':
            return json_kind::boolean;
        case 'n':
            return json_kind::null;
        default:
            return json_kind::number;
    }
}

// The oracle's members of a valid object within the members reader's limits.
bool within_member_limits(const fuzz::json_verdict& v, int extra_for_objects) {
    for (const auto& m : v.members) {
        const int limit = value_limit + (m.raw.front() == '{' ? extra_for_objects : 0);
        if (m.depth > limit) return false;
    }
    return true;
}

void check_value(std::string_view in, const fuzz::json_verdict& v, const std::string& ctx) {
    const json_value_check c = check_json_value(in);
    const bool want = v.ok && v.depth <= value_limit;
    FUZZ_CHECK(c.ok == want, std::string("check_json_value ") + (c.ok ? "accepts" : "refuses") +
                                 " (" + std::string(c.problem) + "), the oracle " +
                                 (v.ok ? "accepts" : "refuses") + " (" + v.problem + ", depth " +
                                 std::to_string(v.depth) + ")" + ctx);
    if (c.ok) {
        FUZZ_CHECK(c.text == trim_json_whitespace(in), "check_json_value text" + ctx);
        FUZZ_CHECK(c.kind == kind_from(c.text), "check_json_value kind" + ctx);
    } else {
        FUZZ_CHECK(!c.problem.empty(), "check_json_value refuses without a problem" + ctx);
    }
}

void check_members(std::string_view in, const fuzz::json_verdict& v, json_context& json,
                   const std::string& ctx) {
    const body_members body = read_members(in, json);
    const object_read& read = body.read;
    FUZZ_CHECK(body.text.data() == in.data() && body.text.size() == in.size(), "text" + ctx);
    const bool object = first_byte(in) == '{';
    if (!object) {
        FUZZ_CHECK(read.st == object_read::status::not_object, "not an object, yet read" + ctx);
        return;
    }
    const bool want = v.ok && within_member_limits(v, 0);
    FUZZ_CHECK((read.st == object_read::status::ok) == want,
               std::string("read_members ") +
                   (read.st == object_read::status::ok ? "accepts" : "refuses") + " (" +
                   std::string(read.problem) + "), the oracle " + (v.ok ? "accepts" : "refuses") +
                   " (" + v.problem + ")" + ctx);
    if (!want) {
        FUZZ_CHECK(read.st == object_read::status::malformed && !read.problem.empty(),
                   "an object refused as not an object, or without a problem" + ctx);
        return;
    }
    FUZZ_CHECK(body.members.size() == v.members.size() && body.keys.size() == v.members.size(),
               "member count " + std::to_string(body.members.size()) + ", oracle " +
                   std::to_string(v.members.size()) + ctx);
    for (std::size_t i = 0; i < v.members.size(); ++i) {
        const json_member& m = body.members[i];
        const fuzz::member& o = v.members[i];
        const std::string at = " of member " + std::to_string(i) + ctx;
        FUZZ_CHECK(m.key == o.key, "key " + fuzz::show(m.key) + " != " + fuzz::show(o.key) + at);
        FUZZ_CHECK(body.keys[i].text == m.key, "hashed key" + at);
        FUZZ_CHECK(m.raw_key.size() >= 2 && m.raw_key.front() == '"' && m.raw_key.back() == '"' &&
                       m.raw_key.data() >= in.data() &&
                       m.raw_key.data() + m.raw_key.size() <= in.data() + in.size(),
                   "raw key not a token of the text" + at);
        FUZZ_CHECK(m.value == o.raw,
                   "value " + fuzz::show(m.value) + " != " + fuzz::show(o.raw) + at);
        FUZZ_CHECK(m.kind == kind_from(o.raw), "kind" + at);
        std::string_view content;
        const bool is_string = member_string(m, json.scratch, in.size(), content);
        FUZZ_CHECK(is_string == o.text.has_value(), "string or not" + at);
        if (is_string)
            FUZZ_CHECK(content == *o.text,
                       "content " + fuzz::show(content) + " != " + fuzz::show(*o.text) + at);
    }
    const auto dup = find_duplicate(body.keys);
    const auto want_dup = fuzz::duplicate_key(v.members);
    FUZZ_CHECK(dup.has_value() == want_dup.has_value(),
               std::string("duplicate ") + (dup ? "found" : "not found") + ", oracle " +
                   (want_dup ? "found " + fuzz::show(*want_dup) : "none") + ctx);
    for (const auto& o : v.members)
        FUZZ_CHECK(contains_key(body.keys, o.key),
                   "contains_key misses " + fuzz::show(o.key) + ctx);
}

// A walk that enters every top-level object member (one level, as the response rewrite enters
// its source) and reads the values inside it one by one.
void check_entered_walk(std::string_view in, const fuzz::json_verdict& v, json_context& json,
                        const std::string& ctx) {
    json_object_reader reader(in, json.scratch);
    if (!reader.open()) {
        FUZZ_CHECK(first_byte(in) != '{', "open() refused an object" + ctx);
        return;
    }
    json_member m;
    std::size_t top = 0;
    bool went_wrong = false;
    while (!went_wrong && reader.next_key(m)) {
        ++top;
        if (reader.enter_object(m)) {
            json_member inner;
            while (reader.next_key(inner)) {
                if (!reader.read_value(inner)) {
                    went_wrong = true;
                    break;
                }
            }
            if (!reader.problem().empty()) went_wrong = true;
        } else if (!reader.read_value(m)) {
            went_wrong = true;
        }
    }
    const bool want = v.ok && within_member_limits(v, 1);
    FUZZ_CHECK(reader.done() == want,
               std::string("entered walk ") + (reader.done() ? "accepts" : "refuses") + " (" +
                   std::string(reader.problem()) + "), the oracle " +
                   (v.ok ? "accepts" : "refuses") + " (" + v.problem + ")" + ctx);
    if (want) FUZZ_CHECK(top == v.members.size(), "entered walk member count" + ctx);
    if (!reader.done())
        FUZZ_CHECK(!reader.problem().empty(), "walk refused without a problem" + ctx);
}

// select_by_body on StateSet's pair of rules (PUT /v1/users/{id}: group body, profile body).
void check_select(std::string_view in, const fuzz::json_verdict& v, json_context& json,
                  const std::string& ctx) {
    static const path_match pair = [] {
        path_match m;
        m.candidates = {&fuzz::rule_named("stateset-update-user-group"),
                        &fuzz::rule_named("stateset-update-user")};
        return m;
    }();
    const body_choice choice = select_by_body(pair, in, json);
    const rule* r = choice.picked;
    const bool readable = first_byte(in) == '{' && v.ok && within_member_limits(v, 0);
    FUZZ_CHECK((choice.body.read.st == object_read::status::ok) == readable &&
                   choice.body.text.data() == in.data() &&
                   (!readable || choice.body.members.size() == v.members.size()),
               "select_by_body's members are not the body's" + ctx);
    const bool group = readable && fuzz::find_member(v.members, "user_group_id") != nullptr;
    FUZZ_CHECK(r == pair.candidates[group ? 0 : 1],
               "select_by_body picked " + (r ? r->name : std::string("nothing")) + ctx);
}

// simdjson's DOM on the same bytes: a second opinion on the oracle.
void check_dom(std::string_view in, const fuzz::json_verdict& v, const std::string& ctx) {
    constexpr std::size_t capacity = 1 << 20;  // past fuzz.sh's -max_len; larger replays skip it
    static simdjson::dom::parser dom;
    static const bool allocated = dom.allocate(capacity, 8192) == simdjson::SUCCESS;
    FUZZ_CHECK(allocated, "simdjson DOM allocation");
    if (in.size() > capacity) return;
    const simdjson::padded_string padded(in);
    simdjson::dom::element e;
    const auto err = dom.parse(padded).get(e);
    if (err == simdjson::SUCCESS) {
        FUZZ_CHECK(v.ok, "simdjson DOM accepts what the oracle refuses (" + v.problem + ")" + ctx);
        return;
    }
    if (!v.ok) return;
    // Valid JSON the DOM cannot take: numbers beyond double/64-bit integers, deep nesting.
    FUZZ_CHECK(err == simdjson::NUMBER_ERROR || err == simdjson::DEPTH_ERROR,
               std::string("simdjson DOM refuses what the oracle accepts: ") +
                   simdjson::error_message(err) + ctx);
}

void run(std::string_view in) {
    static json_context json;
    const fuzz::json_verdict v = fuzz::oracle(in).run();
    FUZZ_CHECK(v.ok || !v.problem.empty(), "oracle refuses without a problem");
    const std::string ctx = "\ninput: " + fuzz::show(in);
    fuzz::trace("oracle", v.ok ? "valid" : v.problem);
    check_dom(in, v, ctx);
    check_value(in, v, ctx);
    check_members(in, v, json, ctx);
    check_entered_walk(in, v, json, ctx);
    check_select(in, v, json, ctx);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    run(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
