#pragma once
// A worker's share of the client ledger (contract §6.2): the calls its requests made since the
// ledger thread last took them. A client enters only with an upstream 2xx to a deprecated route;
// once known (here, or to the whole ledger: `set_known`), its later calls are counted by outcome
// and its calls of the route's successor noted. A request costs a token comparison (the last
// fingerprint is kept), a lock nobody else holds but every few seconds, and a hash look-up.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ledger/ledger_data.hpp"

namespace shimgate {

// Every client the ledger holds, by rule name.
using known_clients = std::map<std::string, std::unordered_set<std::uint64_t>, std::less<>>;

// How a finished call of a deprecated route counts: `sent` the status the client got,
// `upstream` the upstream's (0: none), `gone` whether the route's lifecycle answered it (410).
call_outcome outcome_of(unsigned sent, unsigned upstream, bool gone) noexcept;

class ledger_recorder {
  public:
    // At most this many clients per rule enter through one worker between two takes; more are
    // not counted (a legitimate fleet of clients is far smaller; the ledger's bound, not memory).
    static constexpr std::size_t max_new_clients = 100000;

    // The fingerprint of `token`; the last one is kept, so the same client calling again (the
    // usual case) costs a comparison instead of a SHA-256. Worker thread only.
    std::uint64_t fingerprint(std::string_view token);

    // A call of deprecated rule `rule` by the client with `fingerprint`, at `now` (unix seconds).
    void deprecated_call(std::string_view rule, std::uint64_t fingerprint, call_outcome o,
                         std::int64_t now);
    // A call of `rule`'s successor path by that client: noted only if the client is known.
    void successor_call(std::string_view rule, std::uint64_t fingerprint, std::int64_t now);

    // What was recorded since the last take (any thread); the clients stay known.
    ledger_data take();
    // The clients of the whole ledger (any thread), replacing the previous set.
    void set_known(std::shared_ptr<const known_clients> known);

  private:
    struct rule_clients {
        std::string rule;
        std::unordered_map<std::uint64_t, client_record> delta;
        std::unordered_set<std::uint64_t> entered;  // entered here, until the ledger knows them
    };
    rule_clients& clients_of(std::string_view rule);
    bool known(const rule_clients& c, std::uint64_t fingerprint) const;

    std::mutex mutex_;  // the worker's calls against take / set_known from the ledger thread
    std::vector<rule_clients> rules_;
    std::shared_ptr<const known_clients> known_;
    // The last token seen and its fingerprint (worker thread only, outside the lock).
    std::string last_token_;
    std::uint64_t last_fingerprint_ = 0;
    bool have_last_ = false;
};

}  // namespace shimgate
