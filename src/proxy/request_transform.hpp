#pragma once
// The request stage of a translated route: validate the client's JSON body against the rule
// (types, required, non-empty, duplicates, path params, unknown-field policy) and build the
// canonical upstream request by splicing raw JSON text (renamed keys, values copied byte-for-byte,
// key order kept). Pure function over values; `ctx` is the thread's reused JSON state.
#include <optional>
#include <string>
#include <string_view>

#include "config/rule_set.hpp"
#include "json/json_members.hpp"
#include "proxy/refusal.hpp"
#include "proxy/route.hpp"

namespace shimgate {

struct upstream_call {
    std::string method;  // rule.upstream_method
    std::string
        target;  // rule.upstream_path with params substituted (percent-encoded), + "?" query if any
    std::string body;         // canonical JSON body
    std::string auth_header;  // rule.upstream_auth_header
    std::string auth_value;   // "<scheme> <token>"
};

// `body`: the client body's members as read with `ctx` (select_by_body's choice.body, or
// read_members(text, ctx)); the body is not read again, and its key list is left sorted. `query` is
// appended to the target when non-empty. Refusals are 400 with a message naming the field (or
// "malformed JSON ...").
result<upstream_call> transform_request(const rule& r, const path_params& params,
                                        std::string_view token, std::string_view query,
                                        const body_members& body, json_context& ctx);

// The same into `call`, whose buffers are reused: a caller keeping one upstream_call (per
// connection or thread) allocates nothing once they have grown. nullopt when `call` is complete;
// on a refusal its contents are unspecified.
std::optional<refusal> transform_request(const rule& r, const path_params& params,
                                         std::string_view token, std::string_view query,
                                         const body_members& body, json_context& ctx,
                                         upstream_call& call);

}  // namespace shimgate
