#pragma once
// The W3C Trace Context `traceparent` header (https://www.w3.org/TR/trace-context/ §3.2), read
// for the access log's trace_id only: the shim neither makes nor changes trace context (the
// header is forwarded as it came). Pure.
#include <string_view>

namespace shimgate {

// The 32-hex trace id of a valid version-00 `traceparent` value
// ("00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>": lower-case hex, exact lengths, neither
// id all zeros; surrounding spaces and tabs allowed), as a view into `value`; "" otherwise.
std::string_view trace_id_of(std::string_view value) noexcept;

}  // namespace shimgate
