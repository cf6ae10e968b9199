#pragma once
// The response stage of a translated route, in the route's error style. The shim's own refusals
// are rendered by render_refusal (proxy/errors.hpp, included here). Pure functions; `ctx` is the
// thread's reused JSON state.
#include <string>
#include <string_view>

#include "config/rule_set.hpp"
#include "json/json_context.hpp"
#include "proxy/errors.hpp"  // client_answer, render_refusal
#include "proxy/refusal.hpp"

namespace shimgate {

// 2xx: the documented envelope/object with only documented keys, in order, values byte-for-byte.
// 4xx: same status, error carrying the upstream's "error" (or a generic message if it has none).
// 5xx, malformed or unexpected reply: 502.
client_answer rewrite_response(const rule& r, unsigned upstream_status, std::string& upstream_body,
                               json_context& ctx);

// The same into `answer`, whose buffers are reused: a caller keeping one client_answer allocates
// nothing for a translated 2xx once they have grown (error answers are built anew).
void rewrite_response(const rule& r, unsigned upstream_status, std::string_view upstream_body,
                      json_context& ctx, client_answer& answer);

}  // namespace shimgate
