#include "proxy/exchange_error.hpp"

#include <array>

namespace shimgate {

namespace {

using enum refusal_reason;

// In the order of exchange_error.
constexpr std::array<exchange_outcome, 14> outcomes{{
    {0, "", framing},  // none: never answered from here
    {502, "upstream unreachable", upstream_error},
    {504, "upstream timed out", upstream_timeout},
    {502, "upstream closed the connection before answering", upstream_error},
    {502, "upstream sent an answer that cannot be relayed", upstream_error},
    {502, "upstream answer over the limit", upstream_error},
    {502, "upstream failed mid-answer", upstream_error},
    {502, "upstream failed while receiving the body", upstream_error},
    {413, "request body over the limit", size},
    {400, "malformed chunked body", framing},
    {400, "request body incomplete", framing},
    {408, "request body not received within the body timeout", body_timeout},
    {503, "too many bodies held in memory: retry shortly", overloaded},
    {499, "client closed the connection", client_abort},  // logged and counted, never sent
}};

static_assert(outcomes.size() == static_cast<std::size_t>(exchange_error::client_gone) + 1);

}  // namespace

const exchange_outcome& outcome_of(exchange_error e) noexcept {
    return outcomes[static_cast<std::size_t>(e)];
}

}  // namespace shimgate
