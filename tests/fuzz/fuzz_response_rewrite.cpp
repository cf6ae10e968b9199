// fuzz_response_rewrite: an upstream answer -> rewrite_response on one of the default rules.
//
// Input: byte 0 picks the rule (bits 0-1: Mintlify, Explo, StateSet group, StateSet user) and the
// upstream status (bits 2-4: 200 400 404 500 201 204 302 503). The rest is the upstream body.
//
// Invariants:
//  - the answer body is valid JSON (simdjson DOM + oracle), an object, no duplicate key;
//  - status: upstream 2xx -> the same status or 502; 4xx -> the same; anything else -> 502;
//  - a 2xx answer needs a valid upstream body (oracle) without duplicate keys in the root or the
//    source object; it has only documented keys, in documented order ("copy" keys and the wrapper
//    at the top, the rule's "as" names inside), each value byte-for-byte the upstream's;
//  - an error answer is exactly the route's error shape: {"success":0,"error":"..."} or
//    {"type","title","status","detail"} with status equal to the answer's;
//  - a 4xx whose upstream body carries a non-empty "error" string passes those words on.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "proxy/response_rewrite.hpp"

using namespace shimgate;

namespace {

constexpr unsigned statuses[] = {200, 400, 404, 500, 201, 204, 302, 503};

void check_error_shape(const rule& r, const client_answer& a, const fuzz::json_verdict& v,
                       const std::string& ctx) {
    if (r.errors == error_style::envelope) {
        FUZZ_CHECK(a.content_type == "application/json", "error content type" + ctx);
        FUZZ_CHECK(v.members.size() == 2 && v.members[0].key == "success" &&
                       v.members[0].raw == "0" && v.members[1].key == "error" && v.members[1].text,
                   "not {\"success\":0,\"error\":\"...\"}" + ctx);
    } else {
        FUZZ_CHECK(a.content_type == "application/problem+json", "problem content type" + ctx);
        FUZZ_CHECK(v.members.size() == 4 && v.members[0].key == "type" &&
                       v.members[1].key == "title" && v.members[2].key == "status" &&
                       v.members[3].key == "detail" &&
                       v.members[2].raw == std::to_string(a.status) && v.members[3].text,
                   "not a problem document with the answer's status" + ctx);
    }
}

void run(std::string_view in) {
    if (in.empty()) return;
    static json_context json;
    const auto sel = static_cast<unsigned char>(in[0]);
    in.remove_prefix(1);
    const rule& r = fuzz::pick_rule(sel & 3u);
    const unsigned upstream_status = statuses[(sel >> 2) & 7u];

    std::string body(in);
    const client_answer a = rewrite_response(r, upstream_status, body, json);
    const std::string ctx = "\nrule " + r.name + ", upstream status " +
                            std::to_string(upstream_status) + "\nupstream body: " + fuzz::show(in) +
                            "\nanswer " + std::to_string(a.status) + ": " + fuzz::show(a.body);

    fuzz::trace("answer " + std::to_string(a.status), a.body);
    const fuzz::json_verdict v = fuzz::check_json(a.body);
    FUZZ_CHECK(v.ok, "answer is not valid JSON (" + v.problem + ")" + ctx);
    FUZZ_CHECK(v.is_object, "answer is not an object" + ctx);
    if (auto dup = fuzz::duplicate_key(v.members))
        FUZZ_CHECK(false, "answer has duplicate key " + fuzz::show(*dup) + ctx);

    const bool up2xx = upstream_status >= 200 && upstream_status <= 299;
    const bool up4xx = upstream_status >= 400 && upstream_status <= 499;
    if (up2xx)
        FUZZ_CHECK(a.status == upstream_status || a.status == 502, "status" + ctx);
    else if (up4xx)
        FUZZ_CHECK(a.status == upstream_status, "status" + ctx);
    else
        FUZZ_CHECK(a.status == 502, "status" + ctx);

    if (a.status == 502 || up4xx) {
        check_error_shape(r, a, v, ctx);
        if (up4xx) {
            const fuzz::json_verdict u = fuzz::check_json(in);
            const fuzz::member* err =
                u.ok && u.is_object ? fuzz::find_member(u.members, "error") : nullptr;
            if (err && err->text && !err->text->empty() && !fuzz::duplicate_key(u.members)) {
                const std::string& said =
                    r.errors == error_style::envelope ? *v.members[1].text : *v.members[3].text;
                // The answer's text went through append_json_string: invalid UTF-8 would be
                // U+FFFD, but the oracle has already proven the upstream's text valid.
                FUZZ_CHECK(said == *err->text,
                           "the upstream's error words were not passed on" + ctx);
            }
        }
        return;
    }

    // A translated 2xx.
    FUZZ_CHECK(a.content_type == "application/json", "2xx content type" + ctx);
    const fuzz::json_verdict u = fuzz::check_json(in);
    FUZZ_KNOWN("ondemand-skip", u.ok && u.is_object,
               "2xx answer from an invalid upstream body (" + u.problem + ")" + ctx);
    FUZZ_CHECK(!fuzz::duplicate_key(u.members),
               "2xx answer from an upstream body with a duplicate key" + ctx);
    const response_rule& rr = r.response;

    std::vector<fuzz::member> source_members;
    const std::vector<fuzz::member>* source = &u.members;
    if (!rr.source.empty()) {
        const fuzz::member* s = fuzz::find_member(u.members, rr.source);
        FUZZ_CHECK(s != nullptr, "2xx answer without the source object" + ctx);
        fuzz::json_verdict sv = fuzz::check_json(s->raw);
        FUZZ_CHECK(sv.ok && sv.is_object, "source is not an object" + ctx);
        FUZZ_CHECK(!fuzz::duplicate_key(sv.members),
                   "2xx answer from a source object with a duplicate key" + ctx);
        source_members = std::move(sv.members);
        source = &source_members;
    }

    // Top level: copy keys (in order) then the wrapper, or the documented keys.
    std::size_t pos = 0;
    for (const auto& k : rr.copy) {
        const fuzz::member* from = fuzz::find_member(u.members, k);
        if (!from) continue;
        FUZZ_CHECK(
            pos < v.members.size() && v.members[pos].key == k && v.members[pos].raw == from->raw,
            "copy key " + k + " missing, moved or changed" + ctx);
        ++pos;
    }
    const std::vector<fuzz::member>* picked = &v.members;
    std::size_t picked_pos = pos;
    std::vector<fuzz::member> inner_members;
    if (!rr.wrapper.empty()) {
        FUZZ_CHECK(pos + 1 == v.members.size() && v.members[pos].key == rr.wrapper,
                   "wrapper missing or extra top-level key" + ctx);
        fuzz::json_verdict iv = fuzz::check_json(v.members[pos].raw);
        FUZZ_CHECK(iv.ok && iv.is_object, "wrapper is not an object" + ctx);
        inner_members = std::move(iv.members);
        picked = &inner_members;
        picked_pos = 0;
    }
    for (const auto& k : rr.keys) {
        const fuzz::member* from = fuzz::find_member(*source, k.from);
        if (!from) continue;
        FUZZ_CHECK(picked_pos < picked->size() && (*picked)[picked_pos].key == k.as &&
                       (*picked)[picked_pos].raw == from->raw,
                   "documented key " + k.as + " missing, moved or changed" + ctx);
        ++picked_pos;
    }
    FUZZ_CHECK(picked_pos == picked->size(), "undocumented key in a 2xx answer" + ctx);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    run(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
