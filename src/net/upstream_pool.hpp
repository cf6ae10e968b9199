#pragma once
// Per-thread pool of keep-alive connections to the one upstream. Owned by a worker and used only
// from its thread: no lock. An idle connection on which a readable edge arrived while it idled
// (timed_socket::readable_edge_pending: a close, stray bytes, a TLS ticket) is checked with a
// non-blocking peek before reuse; one on which nothing arrived, the usual case, costs no system
// call. An idle connection carries a deadline on its timed_socket (the worker's sweep closes it
// when its idle time is up, whether or not a request follows), `idle_timeout` or less when the
// upstream's Keep-Alive header says it closes sooner; drop_closed then lets it go.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/flex_stream.hpp"
#include "net/tls.hpp"
#include "net/upstream_addresses.hpp"

namespace shimgate {

struct upstream_connection {
    upstream_connection(boost::asio::ip::tcp::socket s, timed_socket_list& list,
                        boost::asio::ssl::context* tls)
        : stream(std::move(s), list, tls) {}
    flex_stream stream;
    boost::beast::flat_buffer buffer;
    bool reused = false;
    std::chrono::steady_clock::time_point idle_until;  // reused only before this
    boost::asio::ip::tcp::endpoint
        remote;  // the upstream address (for the access log); port 0: not yet read
};
using upstream_connection_ptr = std::unique_ptr<upstream_connection>;

struct pool_stats {
    std::uint64_t connects = 0;  // new connections opened
    std::uint64_t connect_failures = 0;
    std::uint64_t reuses = 0;         // requests sent on a pooled connection
    std::uint64_t stale_dropped = 0;  // idle connections found closed or expired
    std::uint64_t tls_resumed = 0;    // TLS handshakes that resumed a session
    std::uint64_t retries = 0;        // requests sent again on a new connection
};

class upstream_pool {
  public:
    // `tls` null: plain TCP. Otherwise every connection is TLS to `host` (SNI, verification).
    // Connection sockets join `deadlines` (the worker's sweep list). New connections go round
    // robin over `endpoints`; one whose connect fails is skipped for `eject_time`.
    upstream_pool(boost::asio::io_context& ioc, timed_socket_list& deadlines,
                  std::vector<boost::asio::ip::tcp::endpoint> endpoints,
                  std::chrono::milliseconds connect_timeout, std::chrono::milliseconds idle_timeout,
                  std::chrono::milliseconds eject_time = std::chrono::seconds(10),
                  tls_context_ptr tls = nullptr, std::string host = {});
    ~upstream_pool();
    upstream_pool(const upstream_pool&) = delete;
    upstream_pool& operator=(const upstream_pool&) = delete;

    // A live idle connection, or null.
    upstream_connection_ptr take_idle();

    // A new connection (TCP, then the TLS handshake if any, both within the connect timeout), to
    // the next address in turn; an address that refuses is skipped for the eject time and the
    // next one tried (each once at most). On failure `ec` is set; a timeout is
    // beast::error::timeout. TLS failures are logged with why.
    boost::asio::awaitable<upstream_connection_ptr> connect(boost::system::error_code& ec);

    // Back to the pool after a complete exchange the upstream allows to keep alive.
    // `keep_alive`: the answer's Keep-Alive header value ("" if none); with `timeout=N` the
    // connection idles at most N - 1 s, and with N <= 1 it is closed instead.
    void give_back(upstream_connection_ptr c, std::string_view keep_alive);
    // Forgets idle connections whose idle deadline closed them (after each deadline sweep).
    void drop_closed() noexcept;

    // A new answer of the resolver (off the request path); empty: the last good one stays.
    void set_addresses(const std::vector<boost::asio::ip::tcp::endpoint>& answer) {
        addresses_.update(answer);
    }
    const upstream_addresses& addresses() const noexcept { return addresses_; }

    void close_all();
    std::size_t idle_count() const noexcept { return idle_.size(); }
    const pool_stats& stats() const noexcept { return stats_; }
    void count_retry() noexcept { ++stats_.retries; }

  private:
    boost::asio::io_context& ioc_;
    timed_socket_list& deadlines_;
    upstream_addresses addresses_;
    std::chrono::milliseconds connect_timeout_;
    std::chrono::milliseconds idle_timeout_;
    tls_context_ptr tls_;
    std::string host_;
    SSL_SESSION* session_ = nullptr;  // the last resumable TLS session, offered to new connections
    std::vector<upstream_connection_ptr> idle_;  // most recently used last
    pool_stats stats_;
    static constexpr std::size_t max_idle_ = 256;
};

}  // namespace shimgate
