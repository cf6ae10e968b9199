#pragma once
// The admin listener (--admin HOST:PORT), off the public port: plain HTTP/1.1, GET only, no
// bodies, an 8 KiB head, 10 s timeouts, at most 64 connections (at the cap, the connection idle
// the longest is closed to make room, so idle connections cannot keep the probes out). It runs on
// its own thread and io_context, never a worker's.
//   GET /healthz    200 "ok\n" while the process runs
//   GET /readyz     200 "ready\n" when sources.ready() (and, with sources.require_upstream, a TCP
//                   connect to the upstream succeeds within 1 s); else 503 with a one-line reason.
//                   shimgate_ready on /metrics is the same answer.
//   GET /metrics    Prometheus text 0.0.4 (observe/metrics_text.hpp)
//   GET /migration  HTML page; JSON with ?format=json, or when Accept names application/json
//                   and not text/html (?format=html forces the page)
// Anything else is 404, a method other than GET 405 (both application/problem+json).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "observe/metrics.hpp"

namespace shimgate {

struct admin_sources {
    // A merged snapshot of every worker (and the process figures, version, kernel). Called on the
    // admin thread; the awaitable must complete on the admin thread too. It may throw (500).
    std::function<boost::asio::awaitable<metrics_snapshot>()> collect;
    // The /migration page (false) or its JSON (true), from the client ledger. Same rules as
    // `collect`; unset: 404.
    std::function<boost::asio::awaitable<std::string>(bool json)> migration;
    // Rules loaded and not draining. Called on the admin thread (read atomics). Unset: true.
    std::function<bool()> ready;
    // --ready-requires-upstream: ready also needs a TCP connect to the upstream.
    bool require_upstream = false;
};

class admin_server {
  public:
    // Binds `address` ("HOST:PORT", "[v6]:PORT"; port 0 picks one) and starts the admin thread.
    // `upstream`: the addresses /readyz tries to connect to, in order (the ones the pools use).
    // Null and `error` set to one line ("--admin: cannot listen on ...: ...") on failure.
    static std::unique_ptr<admin_server> start(const std::string& address,
                                               std::vector<boost::asio::ip::tcp::endpoint> upstream,
                                               admin_sources sources, std::string& error);
    // stop(), then frees the io_context. A `collect` still waiting on another io_context (a
    // worker's) owns a suspended admin coroutine: destroy that io_context first. Safe order at
    // exit: join the workers, stop() this, destroy the workers, then destroy this.
    ~admin_server();
    admin_server(const admin_server&) = delete;
    admin_server& operator=(const admin_server&) = delete;

    unsigned short port() const noexcept;  // the bound port (useful with port 0)
    // Closes the listener and every admin connection, and joins the thread. Idempotent; not
    // from the admin thread itself.
    void stop();

    struct impl;

  private:
    explicit admin_server(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace shimgate
