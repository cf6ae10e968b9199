#pragma once
// The response stage of a translated route, and the rendering of the shim's own refusals, in the
// route's error style. Pure functions; `ctx` is the thread's reused parser.
#include <string>
#include <string_view>

#include "config/rule_set.hpp"
#include "json/json_context.hpp"
#include "proxy/refusal.hpp"

namespace shimgate {

struct client_answer {
    unsigned status = 200;
    std::string content_type;  // "application/json" or "application/problem+json"
    std::string body;
};

// 2xx: the documented envelope/object with only documented keys, in order, values byte-for-byte.
// 4xx: same status, error carrying the upstream's "error" (or a generic message if it has none).
// 5xx, malformed or unexpected reply: 502.
client_answer rewrite_response(const rule& r, unsigned upstream_status, std::string& upstream_body,
                               json_context& ctx);

// {"success":0,"error":"..."} or application/problem+json {"type","title","status","detail"}.
client_answer render_refusal(error_style style, const refusal& why);

}  // namespace shimgate
