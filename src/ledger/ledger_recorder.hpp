#pragma once
// A worker's share of the client ledger (contract §6.2): the calls its requests made since the
// ledger thread last took them. A client enters only with an upstream 2xx to a deprecated route;
// once known (to the process's known_registry), its later calls are counted by outcome and its
// calls of the route's successor noted. A request costs a token comparison (the last fingerprint
// is kept), a lock nobody else holds but every few seconds, and a hash look-up.
#include <cstdint>
#include <map>
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

// The clients this process knows, shared by its workers: those that entered through any worker,
// and those the ledger's store holds (every replica's). A worker asks only for a client not yet in
// its own delta (once per client per flush), so the lock is rarely taken.
class known_registry {
  public:
    static constexpr std::size_t max_clients = 1000000;  // a bound, far above any real fleet

    bool contains(std::string_view rule, std::uint64_t fingerprint) const;
    // Adds one client; false (not added) at the bound.
    bool add(std::string_view rule, std::uint64_t fingerprint);
    // Adds every client of `ledger` (read back from the store).
    void add_all(const ledger_data& ledger);

  private:
    mutable std::mutex mutex_;
    known_clients known_;
    std::size_t size_ = 0;
};

// How a finished call of a deprecated route counts: `sent` the status the client got,
// `upstream` the upstream's (0: none), `gone` whether the route's lifecycle answered it (410).
call_outcome outcome_of(unsigned sent, unsigned upstream, bool gone) noexcept;

class ledger_recorder {
  public:
    // `known` outlives the recorder.
    explicit ledger_recorder(known_registry& known) : known_(known) {}

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

  private:
    struct rule_clients {
        std::string rule;
        std::unordered_map<std::uint64_t, client_record> delta;
    };
    rule_clients& clients_of(std::string_view rule);

    known_registry& known_;
    std::mutex mutex_;  // the worker's calls against take() from the ledger thread
    std::vector<rule_clients> rules_;
    // The last token seen and its fingerprint (worker thread only, outside the lock).
    std::string last_token_;
    std::uint64_t last_fingerprint_ = 0;
    bool have_last_ = false;
};

}  // namespace shimgate
