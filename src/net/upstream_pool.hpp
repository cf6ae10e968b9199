#pragma once
// Per-thread pool of keep-alive connections to the one upstream. Owned by a worker and used only
// from its thread: no lock. Idle connections are checked before reuse (a non-blocking peek tells a
// connection the upstream closed while it idled) and dropped after `max_idle_time`.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace shimgate {

struct upstream_connection {
    explicit upstream_connection(boost::asio::io_context& ioc) : stream(ioc) {}
    boost::beast::tcp_stream stream;
    boost::beast::flat_buffer buffer;
    bool reused = false;
    std::chrono::steady_clock::time_point idle_since;
};
using upstream_connection_ptr = std::unique_ptr<upstream_connection>;

struct pool_stats {
    std::uint64_t connects = 0;  // new connections opened
    std::uint64_t connect_failures = 0;
    std::uint64_t reuses = 0;         // requests sent on a pooled connection
    std::uint64_t stale_dropped = 0;  // idle connections found closed or expired
};

class upstream_pool {
  public:
    upstream_pool(boost::asio::io_context& ioc,
                  std::vector<boost::asio::ip::tcp::endpoint> endpoints,
                  std::chrono::milliseconds connect_timeout);

    // A live idle connection, or null.
    upstream_connection_ptr take_idle();

    // A new connection. On failure `ec` is set; a connect timeout is beast::error::timeout.
    boost::asio::awaitable<upstream_connection_ptr> connect(boost::system::error_code& ec);

    // Back to the pool after a complete exchange the upstream allows to keep alive.
    void give_back(upstream_connection_ptr c);

    void close_all();
    std::size_t idle_count() const noexcept { return idle_.size(); }
    const pool_stats& stats() const noexcept { return stats_; }

  private:
    boost::asio::io_context& ioc_;
    std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
    std::chrono::milliseconds connect_timeout_;
    std::vector<upstream_connection_ptr> idle_;  // most recently used last
    pool_stats stats_;
    static constexpr std::size_t max_idle_ = 256;
    static constexpr std::chrono::seconds max_idle_time_{30};
};

}  // namespace shimgate
