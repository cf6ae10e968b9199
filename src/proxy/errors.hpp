#pragma once
// The shim's own error bodies, in a route's error style: the seeds' envelope
// {"success":0,"error":"..."} (application/json) or RFC 9457 problem details
// {"type","title","status","detail"} (application/problem+json). Pure functions.
#include <cstdint>
#include <string>
#include <string_view>

#include "config/rule_set.hpp"
#include "proxy/refusal.hpp"

namespace shimgate {

struct client_answer {
    unsigned status = 200;
    std::string content_type;  // "application/json" or "application/problem+json"
    std::string body;
};

// The RFC 9110 reason phrase of `status` ("Bad Request"), "Error" for a code it does not know.
std::string_view reason_phrase(unsigned status) noexcept;

// An error answer with `status` and `message` (escaped here) in `style`.
client_answer render_error(error_style style, unsigned status, std::string_view message);

// {"success":0,"error":"..."} or application/problem+json {"type","title","status","detail"}.
client_answer render_refusal(error_style style, const refusal& why);

// The 413 of a body over `limit` bytes, naming the limit.
refusal body_limit_refusal(std::uint64_t limit);

}  // namespace shimgate
