// fuzz_request_transform: a client body -> transform_request on one of the default rules.
//
// Input: byte 0 picks the rule (bits 0-1: Mintlify, Explo, StateSet group, StateSet user),
// bit 2: the path id follows as byte 1 = length L and L bytes (else "example_1"), bit 3: a query
// string is passed. The rest is the body. The rule is picked directly (select_by_body is also run,
// for coverage).
//
// Invariants when the transform accepts:
//  - the client body was valid JSON, an object, without duplicate top-level keys (the shim never
//    forwards anything from a body it could read two ways);
//  - the upstream body is valid JSON (simdjson DOM + oracle), an object, no duplicate top-level
//    key, and for group rules has a non-empty string "customer_id" and no "user_group_id";
//  - every member forwarded under its own name carries the client's value byte-for-byte, in the
//    client's order; the renamed one carries user_group_id's value byte-for-byte;
//  - a body "id" (StateSet user) / "user_group_id" (StateSet group) equals the path id;
//  - the upstream target is origin-form with no byte a request line cannot carry.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "proxy/request_transform.hpp"
#include "proxy/route.hpp"

using namespace shimgate;

namespace {

void run(std::string_view in) {
    if (in.empty()) return;
    static json_context json;
    const auto flags = static_cast<unsigned char>(in[0]);
    in.remove_prefix(1);
    const rule& r = fuzz::pick_rule(flags & 3u);
    std::string id = "example_1";
    if (flags & 4u) {
        if (in.empty()) return;
        const std::size_t n = static_cast<unsigned char>(in[0]);
        in.remove_prefix(1);
        if (in.size() < n) return;
        id.assign(in.substr(0, n));
        in.remove_prefix(n);
    }
    const std::string_view query =
        (flags & 8u) ? std::string_view("a=1&b=%20x") : std::string_view();

    path_params params;
    for (const auto& s : r.segments)
        if (s.is_param) params.emplace_back(s.text, id);

    // select_by_body on the StateSet pair, for coverage and crash-freedom.
    if (r.dialect == "stateset") {
        path_match m;
        m.params = params;
        for (const auto& any : fuzz::default_rules().rules)
            if (any.dialect == "stateset") m.candidates.push_back(&any);
        FUZZ_CHECK(select_by_body(m, in, json).picked != nullptr, "select_by_body returned null");
    }

    auto call = transform_request(r, params, "tok", query, read_members(in, json), json);
    if (!call) {
        const auto& why = call.error();
        fuzz::trace("refused", why.message);
        FUZZ_CHECK(why.status == 400,
                   "refusal status " + std::to_string(why.status) + ": " + why.message);
        FUZZ_CHECK(!why.message.empty(), "refusal without a message");
        return;
    }
    fuzz::trace("upstream target", call->target);
    fuzz::trace("upstream body", call->body);
    auto ctx = [&] {
        return "\nrule " + r.name + ", id " + fuzz::show(id) +
               "\nclient body:   " + fuzz::show(in) + "\nupstream body: " + fuzz::show(call->body);
    };

    const fuzz::json_verdict client = fuzz::check_json(in);
    FUZZ_KNOWN("ondemand-skip", client.ok,
               "accepted an invalid client body (" + client.problem + ")" + ctx());
    FUZZ_CHECK(client.is_object, "accepted a client body that is not an object" + ctx());
    if (auto dup = fuzz::duplicate_key(client.members))
        FUZZ_CHECK(false, "accepted a client body with duplicate key " + fuzz::show(*dup) + ctx());

    const fuzz::json_verdict up = fuzz::check_json(call->body);
    FUZZ_CHECK(up.ok, "upstream body is not valid JSON (" + up.problem + ")" + ctx());
    FUZZ_CHECK(up.is_object, "upstream body is not an object" + ctx());
    if (auto dup = fuzz::duplicate_key(up.members))
        FUZZ_CHECK(false, "upstream body has duplicate key " + fuzz::show(*dup) + ctx());

    if (fuzz::is_group_rule(r)) {
        const fuzz::member* cid = fuzz::find_member(up.members, "customer_id");
        FUZZ_CHECK(cid && cid->text && !cid->text->empty(),
                   "group update without a non-empty string customer_id" + ctx());
        FUZZ_CHECK(!fuzz::find_member(up.members, "user_group_id"),
                   "user_group_id forwarded" + ctx());
        const fuzz::member* ugid = fuzz::find_member(client.members, "user_group_id");
        FUZZ_CHECK(ugid && ugid->raw == cid->raw,
                   "customer_id is not user_group_id byte-for-byte" + ctx());
    }
    // Byte-for-byte and in order: each upstream member (but the renamed one) is the next client
    // member of that key.
    std::size_t next = 0;
    for (const auto& m : up.members) {
        if (fuzz::is_group_rule(r) && m.key == "customer_id") continue;
        while (next < client.members.size() && client.members[next].key != m.key) ++next;
        FUZZ_CHECK(next < client.members.size(), "upstream member " + fuzz::show(m.key) +
                                                     " not in the client body, or reordered" +
                                                     ctx());
        FUZZ_CHECK(client.members[next].raw == m.raw,
                   "value of " + fuzz::show(m.key) + " not forwarded byte-for-byte" + ctx());
        ++next;
    }
    for (const auto& pp : r.path_params) {
        if (pp.mode != path_param_mode::check) continue;
        if (const fuzz::member* m = fuzz::find_member(client.members, pp.field))
            FUZZ_CHECK(m->text && *m->text == id,
                       "body " + pp.field + " differs from the path id" + ctx());
    }

    FUZZ_CHECK(call->method == r.upstream_method, "method" + ctx());
    const std::string& t = call->target;
    FUZZ_CHECK(!t.empty() && t.front() == '/', "target not origin-form: " + fuzz::show(t) + ctx());
    for (char ch : t) {
        auto c = static_cast<unsigned char>(ch);
        FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '#',
                   "target byte not allowed: " + fuzz::show(t) + ctx());
    }
    const auto q = t.find('?');
    FUZZ_CHECK((q == std::string::npos) == query.empty(),
               "query lost or invented: " + fuzz::show(t));
    FUZZ_CHECK(call->auth_header == r.upstream_auth_header &&
                   call->auth_value == r.upstream_auth_scheme + " tok",
               "credential" + ctx());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    run(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
