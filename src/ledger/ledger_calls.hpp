#pragma once
// What one finished request means to the client ledger (contract §6.2): a call of a deprecated
// route by an authenticated client (counted by outcome), or a call of such a route's successor
// path carrying the route's upstream credential header and scheme (the client migrated). Works
// out the credential's fingerprint for the access log's "client" too.
#include <cstdint>
#include <string_view>

#include "config/rule_set.hpp"
#include "ledger/ledger_recorder.hpp"
#include "observe/request_accounting.hpp"
#include "proxy/head.hpp"

namespace shimgate {

// The deprecated rule of `rules` whose successor is `path`, or null.
const rule* successor_route(const rule_set& rules, std::string_view path) noexcept;
// The token of `head`'s credential in `r`'s upstream credential header and scheme
// ("Authorization: Token <t>"); "" when there is none, or more than one such header.
std::string_view successor_credential(const rule& r, const head_fields& head) noexcept;

// Records what the finished request `facts` (its head, if read whole) describes into `ledger`;
// sets facts.client when the request carried a dialect route's credential and `want_client` (the
// access log prints it) or the ledger needed it.
void note_ledger_call(ledger_recorder& ledger, request_facts& facts, const request_head* head,
                      bool want_client);

}  // namespace shimgate
