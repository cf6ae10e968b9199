#pragma once
// How an exchange with the upstream (or the reading of the client's body that feeds it) failed,
// as a value, with ONE table giving what the client is told (status, message) and what /metrics
// counts it as. Nothing is decided by reading message text.
#include <cstdint>
#include <string_view>

#include "proxy/refusal.hpp"

namespace shimgate {

enum class exchange_error : std::uint8_t {
    none,
    upstream_unreachable,  // no connection, or the request could not be written
    upstream_timeout,      // no (whole) answer within --upstream-timeout / --connect-timeout
    upstream_closed,       // closed or reset before the whole answer head
    upstream_malformed,  // an answer that cannot be relayed: bad head, 101, a coding we can't frame
    upstream_too_large,  // an answer read whole (translated routes) over the limit
    upstream_cut,        // failed after the head, before the answer was complete
    upstream_body_failed,  // failed while the client's body was streamed to it
    body_too_large,        // the client's body passed --max-body
    body_malformed,        // the client's chunked framing is broken
    body_incomplete,       // the client's body ended early (a close) or could not be read
    body_timeout,          // the client's body did not arrive within --body-timeout of its head
    buffers_full,          // holding one more translated body would pass --max-buffered-bytes
    client_gone,           // the client went away (closed or reset mid-request): counted as 499
};

struct exchange_outcome {
    unsigned status;           // what the client is answered (client_gone: 499, never sent)
    std::string_view message;  // the answer's text
    refusal_reason reason;     // what /metrics counts it as
};

const exchange_outcome& outcome_of(exchange_error e) noexcept;

// A timeout is a timeout wherever it happens; other I/O errors are `otherwise`.
inline exchange_error timeout_or(bool timed_out, exchange_error otherwise) noexcept {
    return timed_out ? exchange_error::upstream_timeout : otherwise;
}

}  // namespace shimgate
