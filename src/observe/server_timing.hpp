#pragma once
// The Server-Timing field (--server-timing, W3C Server Timing) on every answer the shim writes:
// `shim;dur=<ms>` is the shim's own time (the request's time so far less the upstream's) and
// `upstream;dur=<ms>` the upstream exchange's time so far, the latter only when the upstream was
// called. A relayed answer's head goes out when the upstream's head arrived, so its figures are
// as of that moment. Pure.
#include <chrono>
#include <optional>
#include <string>

namespace shimgate {

// Adds "Server-Timing: shim;dur=1.234, upstream;dur=5.678\r\n" as the last field of `head`, a
// whole answer head ending in its empty line (left as it is otherwise). `total`: head complete to
// now; `upstream`: the upstream's share, nullopt if it was not called. Milliseconds, 3 decimals.
void add_server_timing(std::string& head, std::chrono::nanoseconds total,
                       std::optional<std::chrono::nanoseconds> upstream);

}  // namespace shimgate
