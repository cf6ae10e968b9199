#pragma once
// The process: one worker (io_context + thread + SO_REUSEPORT acceptor) per --threads, and the
// main thread handling signals: SIGHUP reloads the rules, SIGTERM/SIGINT drain and stop.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/rule_set.hpp"
#include "net/tls.hpp"

namespace shimgate {

struct worker;

class server {
  public:
    // `listener_tls` null: plain HTTP. `upstream_tls` null: the upstream is http://.
    server(config cfg, rule_set_ptr rules, tls_context_ptr listener_tls,
           tls_context_ptr upstream_tls);
    ~server();

    // Binds and serves until SIGTERM/SIGINT has drained; returns the exit code. Start-up
    // failures are reported as one log line and a non-zero code.
    int run();

  private:
    config cfg_;
    rule_set_ptr rules_;
    tls_context_ptr listener_tls_, upstream_tls_;
    // Declared before the workers: sessions still alive when a worker is destroyed give theirs
    // back.
    std::atomic<std::size_t> open_connections_{0};
    std::vector<std::unique_ptr<worker>> workers_;
};

}  // namespace shimgate
