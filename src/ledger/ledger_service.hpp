#pragma once
// The client ledger's own thread (contract §6.2): it owns the store (--ledger), takes the workers'
// deltas every --ledger-flush seconds and writes them as increments, reads the stored clients
// back (so the workers know every client of the fleet; /migration reads everything when asked),
// rides out an outage with the deltas kept (bounded) and logged once, and writes what is left at
// exit. The request path never waits for it: workers only add to their own ledger_recorder.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ledger/ledger_data.hpp"
#include "ledger/ledger_recorder.hpp"
#include "ledger/ledger_store.hpp"

namespace shimgate {

// What /migration reads: the stored ledger plus the deltas not yet written.
struct ledger_view {
    ledger_data data;
    std::int64_t since = 0;  // unix seconds the ledger holds data from
    std::string source;      // the --ledger URL without its password; "none (in memory)"
    std::string problem;     // "" or why the store cannot be read or written right now
};

// Counters for /metrics, since this process started.
struct ledger_counts {
    // Calls of known clients by (rule, client): the first `max_series_per_rule` clients of a rule
    // have their own series (fingerprint here; the name is applied when rendered), the rest are
    // summed under fingerprint 0 ("other").
    std::map<client_id, outcome_counts> calls;
    std::uint64_t flush_failures = 0;  // flushes (and the drain's) that could not write
    std::uint64_t dropped = 0;         // calls not kept: the unwritten deltas were at their bound
};

class ledger_service {
  public:
    static constexpr std::size_t max_series_per_rule = 1000;
    // The unwritten deltas' default bound, in (client, day) rows: about 100 bytes each.
    static constexpr std::size_t default_max_pending_rows = 200000;
    static constexpr int days_shown = 30;

    // `store` null: in memory only. `recorders`: one per worker, outliving this service's stop();
    // `known`: theirs, which learns the store's clients.
    ledger_service(std::unique_ptr<ledger_store> store, std::string source,
                   std::chrono::milliseconds flush_every, std::vector<ledger_recorder*> recorders,
                   known_registry& known, std::size_t max_pending_rows = default_max_pending_rows);
    ~ledger_service();
    ledger_service(const ledger_service&) = delete;
    ledger_service& operator=(const ledger_service&) = delete;

    // Starts the thread: it reads the ledger (the workers learn its clients), then flushes every
    // `flush_every`.
    void start();
    // Joins the thread, then takes what the workers still hold and writes it (one attempt; a
    // failure is logged with what is lost). Call after the workers stopped, while their
    // recorders live. Idempotent; nothing for a service never started.
    void stop();

    // The ledger as /migration shows it, read on the ledger's thread (any caller's executor).
    boost::asio::awaitable<ledger_view> view();
    // The workers' deltas taken now (so a scrape is current), and the counters.
    ledger_counts counts();

  private:
    void flush();                // ledger thread: take, write, read back
    void schedule_flush();       // ledger thread
    void take_from_workers();    // any thread
    ledger_data take_pending();  // any thread: the workers' deltas and pending_, pending_ emptied
    void absorb(ledger_data d);  // under mutex_: into pending_ (bounded) and the counters
    void read_back();            // ledger thread: cache_ from the store, its clients known
    void refresh_known();        // ledger thread: the store's clients known (no days read)
    void note_failure(const std::string& why);  // ledger thread
    void note_success();                        // ledger thread

    std::unique_ptr<ledger_store> store_;
    const std::string source_;
    const std::chrono::milliseconds flush_every_;
    std::vector<ledger_recorder*> recorders_;
    known_registry& known_;
    const std::size_t max_pending_rows_;

    std::mutex mutex_;     // pending_, counts_, rank_, pending_rows_
    ledger_data pending_;  // taken from the workers, not yet written
    std::size_t pending_rows_ = 0;
    ledger_counts counts_;
    std::map<std::string, std::size_t, std::less<>> series_per_rule_;

    // Ledger thread only.
    ledger_data cache_;  // the store as last read, plus what this process wrote since
    std::int64_t since_ = 0;
    std::string problem_;  // the running outage's reason, "" when none
    std::chrono::steady_clock::time_point outage_began_;

    boost::asio::io_context ioc_{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
        ioc_.get_executor()};
    boost::asio::steady_timer timer_{ioc_};
    // Set on the ledger thread when stop() begins: a flush whose timer had already fired (its
    // completion queued, so the cancel found nothing to cancel) does not arm the next one.
    bool stopping_ = false;
    std::thread thread_;
    bool stopped_ = false;
};

}  // namespace shimgate
