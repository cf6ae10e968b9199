#pragma once
// The process: one worker (io_context + thread + SO_REUSEPORT acceptor) per --threads, and the
// main thread handling signals: SIGHUP reloads the rules and the certificate, SIGUSR1 reopens the
// access log, SIGTERM/SIGINT make readiness false at once and, after --drain-delay, drain and
// stop. The port is claimed first so that no other process shares it (claim_port).
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/rule_set.hpp"
#include "ledger/client_names.hpp"
#include "ledger/ledger_recorder.hpp"
#include "ledger/ledger_store.hpp"
#include "net/buffer_budget.hpp"
#include "net/tls.hpp"
#include "observe/access_log.hpp"
#include "observe/metrics.hpp"

namespace shimgate {

struct worker;
class admin_server;
class ledger_service;
using tcp_endpoint = boost::asio::ip::tcp::endpoint;

class server {
  public:
    // `listener_tls` null: plain HTTP. `upstream_tls` null: the upstream is http://.
    // `access` null: no access log. `ledger` null: the client ledger in memory only (--ledger
    // none); `names` from --clients.
    server(config cfg, rule_set_ptr rules, tls_context_ptr listener_tls,
           tls_context_ptr upstream_tls, std::unique_ptr<access_log> access,
           std::unique_ptr<ledger_store> ledger, client_names names);
    ~server();

    // Binds and serves until SIGTERM/SIGINT has drained; returns the exit code. Start-up
    // failures are reported as one log line and a non-zero code.
    int run();

  private:
    bool start_admin();  // --admin: the admin listener on its own thread; false if it cannot bind
    void reload();       // SIGHUP
    void start_drain();  // SIGTERM / SIGINT, after --drain-delay
    bool ready() const;  // rules loaded and not draining: /readyz and shimgate_ready
    // A merged copy of every worker's figures, gathered on each worker's own thread.
    boost::asio::awaitable<metrics_snapshot> collect();
    // /migration: the ledger (stored + not yet written) rendered as a page or JSON.
    boost::asio::awaitable<std::string> migration(bool json);
    ledger_figures ledger_metrics();  // the ledger's counters, clients named

    // The rules and client names now serving: the workers start with them, the admin thread
    // reads them, the main thread replaces them on reload.
    struct shown {
        rule_set_ptr rules;
        std::shared_ptr<const client_names> names;
    };
    shown now_shown();

    config cfg_;
    tls_context_ptr listener_tls_, upstream_tls_;
    std::unique_ptr<access_log> access_;
    // Declared before the workers: sessions still alive when a worker is destroyed give theirs
    // back.
    std::atomic<std::size_t> open_connections_{0};
    buffer_budget budget_{cfg_.max_buffered_bytes};  // shared by the workers
    std::atomic<std::uint64_t> rule_reloads_applied_{0}, rule_reloads_refused_{0}, rules_loaded_{0};
    std::atomic<double> last_reload_success_{0};  // seconds since the epoch
    std::atomic<bool> draining_{false};
    std::vector<tcp_endpoint> upstream_endpoints_;
    std::unique_ptr<ledger_store> ledger_store_;  // until the ledger service takes it
    known_registry known_clients_;                // the ledger's clients, shared by the workers
    std::mutex shown_mutex_;
    shown shown_;
    // Stopped (its last write done) after the workers and the admin listener stopped; destroyed
    // after the admin listener, whose /migration may wait on it.
    std::unique_ptr<ledger_service> ledger_;
    // Before the workers: a scrape suspended on a worker's io_context is destroyed with that
    // io_context, so the workers go first (members are destroyed in reverse order).
    std::unique_ptr<admin_server> admin_;
    std::vector<std::unique_ptr<worker>> workers_;
};

}  // namespace shimgate
