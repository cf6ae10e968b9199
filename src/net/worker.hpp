#pragma once
// One worker per thread: its own io_context (single-threaded concurrency hint), acceptor
// (SO_REUSEPORT), upstream pool, JSON parser and rule-set pointer. Everything here is touched only
// from the worker's thread, so the request path takes no lock.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <random>
#include <unordered_set>

#include "config/config.hpp"
#include "config/rule_set.hpp"
#include "json/json_context.hpp"
#include "ledger/ledger_recorder.hpp"
#include "net/block_pool.hpp"
#include "net/buffer_budget.hpp"
#include "net/request_scratch.hpp"
#include "net/timed_socket.hpp"
#include "net/tls.hpp"
#include "net/upstream_pool.hpp"
#include "observe/access_log.hpp"
#include "observe/metrics.hpp"

namespace shimgate {

class client_session;

struct worker {
    worker(const config& c, std::vector<boost::asio::ip::tcp::endpoint> upstream,
           rule_set_ptr initial_rules, tls_context_ptr listener_tls, tls_context_ptr upstream_tls,
           std::atomic<std::size_t>& open, known_registry& known)
        : cfg(c),
          open_connections(open),
          pool(ioc, deadlines, std::move(upstream), c.connect_timeout, c.upstream_idle_timeout,
               c.eject_time, std::move(upstream_tls), c.upstream.host),
          rules(std::move(initial_rules)),
          server_tls(std::move(listener_tls)),
          ledger(known) {}

    // Declared before ioc: session frames still pending when ioc is destroyed unregister here.
    const config& cfg;
    std::unordered_set<client_session*> sessions;
    timed_socket_list deadlines;  // every socket of this thread with a deadline, swept by a timer
    std::atomic<std::size_t>& open_connections;  // process-wide, for --max-connections
    json_context json;
    // Relay buffers for bodies and relayed answers, lent per request (64 kept free: 4 MiB).
    static constexpr std::size_t relay_size = 64 * 1024;
    block_pool relays{relay_size, 64};
    // Receive buffers of client connections, lent while a request is read (256 kept free: 4 MiB).
    static constexpr std::size_t read_block_size = 16 * 1024;
    block_pool reads{read_block_size, 256};
    // The state of requests in flight (heads, bodies, built strings), lent per request.
    scratch_pool scratches{128};

    // One thread runs it and only that thread touches its sockets (other threads post to it), so
    // the reactor skips its per-socket locks; posting stays thread-safe.
    boost::asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    upstream_pool pool;          // its sockets need ioc
    rule_set_ptr rules;          // replaced on reload; a request keeps the set it started with
    tls_context_ptr server_tls;  // null: plain HTTP; replaced on reload, a connection keeps its own
    bool draining = false;
    std::optional<boost::asio::ip::tcp::acceptor> acceptor;

    // Observability, touched only on this thread; scrapes copy them on this thread too.
    worker_metrics metrics;
    ledger_recorder ledger;  // this worker's share of the client ledger (ledger_service takes it)
    std::mt19937_64 ids{std::random_device{}()};  // request ids
    access_log* access = nullptr;                 // process-wide writer, null: no access log
    buffer_budget* budget = nullptr;              // process-wide --max-buffered-bytes
    std::string access_lines;                     // lines not yet handed to the writer
};

}  // namespace shimgate
