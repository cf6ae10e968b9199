// timed_socket (coarse deadlines swept by one timer) and the upstream pool's reuse check, over real
// loopback sockets driven by one io_context. Every wait is for an observable event, bounded by
// run_for.
#include "net/timed_socket.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <optional>
#include <vector>

#include "net/upstream_pool.hpp"

namespace shimgate {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

struct socket_pair {
    net::io_context& ioc;
    tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0)};
    tcp::socket client{ioc};
    tcp::socket server{ioc};
    explicit socket_pair(net::io_context& c) : ioc(c) {
        client.connect(acceptor.local_endpoint());
        acceptor.accept(server);
    }
};

// Runs `ioc` until `done()` holds (or 5 s pass).
template <class Pred>
bool run_until(net::io_context& ioc, Pred done) {
    auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < give_up) {
        ioc.restart();
        ioc.run_for(10ms);
    }
    return done();
}

TEST(SweepPeriod, EighthOfTheShortestTimeoutWithinBounds) {
    EXPECT_EQ(sweep_period(800ms), 100ms);
    EXPECT_EQ(sweep_period(1ms), 5ms);
    EXPECT_EQ(sweep_period(60000ms), 250ms);
}

TEST(TimedSocket, SweepPastTheDeadlineFailsThePendingReadWithTimeout) {
    net::io_context ioc;
    socket_pair p(ioc);
    timed_socket_list list;
    timed_socket s({std::move(p.server), list});
    s.expires_after(1h);
    std::array<char, 16> buf{};
    std::optional<boost::system::error_code> result;
    s.async_read_some(net::buffer(buf), [&](auto ec, std::size_t) { result = ec; });
    ioc.poll();
    sweep_deadlines(list, std::chrono::steady_clock::now());
    ioc.poll();
    EXPECT_FALSE(result) << "a deadline an hour away must not fire";

    s.expires_at(std::chrono::steady_clock::now());
    sweep_deadlines(list, std::chrono::steady_clock::now());
    ASSERT_TRUE(run_until(ioc, [&] { return result.has_value(); }));
    EXPECT_EQ(*result, boost::beast::error::timeout);
    EXPECT_FALSE(s.socket().is_open()) << "a timed-out socket is closed, as with beast::tcp_stream";

    // An operation started after the deadline fails at once, without touching the socket.
    result.reset();
    s.async_write_some(net::buffer("x", 1), [&](auto ec, std::size_t) { result = ec; });
    ASSERT_TRUE(run_until(ioc, [&] { return result.has_value(); }));
    EXPECT_EQ(*result, boost::beast::error::timeout);
}

TEST(TimedSocket, ReadsAndWritesBeforeTheDeadlineAndLeavesTheListWhenDestroyed) {
    net::io_context ioc;
    socket_pair p(ioc);
    timed_socket_list list;
    {
        timed_socket s({std::move(p.server), list});
        EXPECT_FALSE(list.empty());
        s.expires_after(1h);
        boost::system::error_code ec;
        EXPECT_EQ(s.write_now(net::buffer("ping", 4), ec), 4u);
        EXPECT_FALSE(ec);
        std::array<char, 4> got{};
        net::read(p.client, net::buffer(got));
        EXPECT_EQ(std::string(got.data(), 4), "ping");

        net::write(p.client, net::buffer("pong", 4));
        std::size_t n = 0;
        s.async_read_some(net::buffer(got), [&](auto e, std::size_t m) {
            ec = e;
            n = m;
        });
        ASSERT_TRUE(run_until(ioc, [&] { return n != 0 || ec; }));
        EXPECT_FALSE(ec);
        EXPECT_EQ(std::string(got.data(), n), "pong");
        sweep_deadlines(list, std::chrono::steady_clock::now());
        EXPECT_TRUE(s.socket().is_open());
        EXPECT_FALSE(s.expired());
    }
    EXPECT_TRUE(list.empty());
}

TEST(TimedSocket, WriteNowNeverWaitsOnAFullSocket) {
    net::io_context ioc;
    socket_pair p(ioc);
    timed_socket_list list;
    timed_socket s({std::move(p.server), list});
    std::vector<char> block(1 << 20, 'x');
    boost::system::error_code ec;
    std::size_t total = 0;
    for (int i = 0; i < 256 && !ec; ++i) total += s.write_now(net::buffer(block), ec);
    EXPECT_EQ(ec, net::error::would_block) << "the peer never reads: the socket must fill up";
    EXPECT_GT(total, 0u);
}

// The pool's reuse check: a connection that idled past one turn of the loop is peeked at before
// reuse; one taken again within the same turn is not.
struct PoolReuseCheck : ::testing::Test {
    net::io_context ioc;
    tcp::acceptor upstream{ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0)};
    timed_socket_list list;
    upstream_pool pool{ioc, list, {upstream.local_endpoint()}, 1000ms};

    // A new pooled connection, and the upstream's end of it.
    std::pair<upstream_connection_ptr, tcp::socket> connect() {
        boost::system::error_code ec;
        upstream_connection_ptr c;
        net::co_spawn(
            ioc, [&]() -> net::awaitable<void> { c = co_await pool.connect(ec); }, net::detached);
        tcp::socket peer(ioc);
        upstream.async_accept(peer, [](auto) {});
        run_until(ioc, [&] { return c != nullptr || ec; });
        run_until(ioc, [&] { return peer.is_open(); });
        return {std::move(c), std::move(peer)};
    }
    // One turn of the loop: what is posted runs.
    void turn() {
        ioc.restart();
        ioc.poll();
    }
};

TEST_F(PoolReuseCheck, SettledConnectionTheUpstreamClosedIsNotReused) {
    auto [c, peer] = connect();
    ASSERT_TRUE(c);
    pool.give_back(std::move(c));
    turn();                                 // one turn: the connection is settled
    peer.shutdown(tcp::socket::shutdown_send);  // the FIN is on the pooled socket now
    EXPECT_EQ(pool.take_idle(), nullptr);
    EXPECT_EQ(pool.stats().stale_dropped, 1u);
    EXPECT_EQ(pool.idle_count(), 0u);
}

TEST_F(PoolReuseCheck, SettledConnectionThatReceivedUnaskedBytesIsNotReused) {
    auto [c, peer] = connect();
    ASSERT_TRUE(c);
    pool.give_back(std::move(c));
    turn();
    net::write(peer, net::buffer("HTTP/1.1 200 OK\r\n", 17));
    EXPECT_EQ(pool.take_idle(), nullptr);
}

TEST_F(PoolReuseCheck, SettledLiveConnectionIsReusedAndWorks) {
    auto [c, peer] = connect();
    ASSERT_TRUE(c);
    pool.give_back(std::move(c));
    turn();
    upstream_connection_ptr again = pool.take_idle();
    ASSERT_TRUE(again);
    EXPECT_EQ(pool.stats().reuses, 1u);
    boost::system::error_code ec;
    EXPECT_EQ(again->stream.write_now(net::buffer("GET / HTTP/1.1\r\n\r\n", 18), ec), 18u);
    std::array<char, 18> got{};
    net::read(peer, net::buffer(got));
    EXPECT_EQ(std::string(got.data(), 3), "GET");
}

TEST_F(PoolReuseCheck, ConnectionTakenWithinTheSameTurnIsNotChecked) {
    auto [c, peer] = connect();
    ASSERT_TRUE(c);
    pool.give_back(std::move(c));
    upstream_connection_ptr again = pool.take_idle();  // before the settling task ran
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->settled);
    turn();  // the posted task finds it gone and marks nothing
    EXPECT_FALSE(again->settled);
    pool.give_back(std::move(again));
    turn();
    peer.close();
    EXPECT_EQ(pool.take_idle(), nullptr) << "settled again, so the close is found";
}

}  // namespace
}  // namespace shimgate
