// timed_socket (coarse deadlines swept by one timer) and the upstream pool's reuse check, over real
// loopback sockets driven by one io_context. Every wait is for an observable event, bounded by
// run_for.
#include "net/timed_socket.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fixtures/pool_fixture.hpp"
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

// A server-side timed_socket on a loopback pair (`p.client` is the peer), with the reactor kept
// running by a work guard, as in a worker with an acceptor.
struct ReactorSocket : ::testing::Test {
    net::io_context ioc;
    socket_pair p{ioc};
    net::executor_work_guard<net::io_context::executor_type> busy = net::make_work_guard(ioc);
    timed_socket_list list;
    timed_socket s{{std::move(p.server), list}};
};

// Runs `ioc` until `done()` holds (or 5 s pass).
using fixtures::run_until;

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

// cancels_at (a body deadline that must still let the shim answer 408): the pending read fails
// with timeout, the socket stays open, and once another deadline is set it can be written to.
TEST(TimedSocket, CancelOnlyDeadlineFailsTheReadAndKeepsTheSocketOpen) {
    net::io_context ioc;
    socket_pair p(ioc);
    timed_socket_list list;
    timed_socket s({std::move(p.server), list});
    s.cancels_at(std::chrono::steady_clock::now() + 1h);
    std::array<char, 16> buf{};
    std::optional<boost::system::error_code> result;
    s.async_read_some(net::buffer(buf), [&](auto ec, std::size_t) { result = ec; });
    ioc.poll();
    sweep_deadlines(list, std::chrono::steady_clock::now());
    ioc.poll();
    EXPECT_FALSE(result);

    s.cancels_at(std::chrono::steady_clock::now());
    sweep_deadlines(list, std::chrono::steady_clock::now());
    ASSERT_TRUE(run_until(ioc, [&] { return result.has_value(); }));
    EXPECT_EQ(*result, boost::beast::error::timeout);
    EXPECT_TRUE(s.socket().is_open());

    s.expires_after(1h);
    boost::system::error_code ec;
    EXPECT_EQ(s.write_now(net::buffer("408", 3), ec), 3u);
    EXPECT_FALSE(ec);
    std::array<char, 3> got{};
    net::read(p.client, net::buffer(got));
    EXPECT_EQ(std::string_view(got.data(), got.size()), "408");

    // expires_at after cancels_at closes again, as before.
    s.expires_at(std::chrono::steady_clock::now());
    sweep_deadlines(list, std::chrono::steady_clock::now());
    EXPECT_FALSE(s.socket().is_open());
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

// Whether a short read drained the socket: known on the private path (the reactor's read flag),
// not on the plain one (always reported as possibly pending there).
constexpr bool edge_after_drain = !timed_socket::tracks_read_edge;

// read_now: what the reactor reported is read inline, and nothing is tried on a socket read empty
// since (private path); never more than max_inline_reads in a row, so a peer that keeps its
// socket full leaves a read to Asio (queued behind the worker's other work) now and then; the
// plain path always leaves the read to Asio.
TEST_F(ReactorSocket, ReadNowReadsWhatWasReportedAndLeavesEveryFewReadsToAsio) {
    const std::string sent(4096, 'x');
    net::write(p.client, net::buffer(sent));
    std::array<char, 8> buf{};
    boost::system::error_code ec;
    if (!timed_socket::tracks_read_edge) {
        EXPECT_EQ(s.read_now(net::buffer(buf), ec), 0u);
        EXPECT_EQ(ec, net::error::would_block) << "the plain path knows no edges";
        return;
    }
    std::size_t inline_reads = 0;
    for (; inline_reads < 100; ++inline_reads) {
        if (s.read_now(net::buffer(buf), ec) != buf.size()) break;
        EXPECT_FALSE(ec);
    }
    EXPECT_EQ(inline_reads, timed_socket::max_inline_reads);
    EXPECT_EQ(ec, net::error::would_block) << "bytes remain, but this read is Asio's";
    EXPECT_TRUE(s.readable_edge_pending()) << "the bytes left are still known to be there";
    EXPECT_EQ(s.read_now(net::buffer(buf), ec), buf.size()) << "then inline reads go on";

    // Drained: a read that finds nothing clears the edge, and no recv is tried after it.
    std::array<char, 8192> all{};
    s.read_now(net::buffer(all), ec);
    EXPECT_FALSE(ec);
    EXPECT_FALSE(s.readable_edge_pending());
    EXPECT_EQ(s.read_now(net::buffer(buf), ec), 0u);
    EXPECT_EQ(ec, net::error::would_block);
}

#if SHIMGATE_EPOLL_EDGE
// The read-edge tracking that lets reads skip the recv that would fail with EAGAIN (private path).
TEST_F(ReactorSocket, ShortReadClearsTheEdgeAndALaterArrivalSetsItAgain) {
    EXPECT_TRUE(s.readable_edge_pending()) << "a new socket has never been read empty";
    net::write(p.client, net::buffer("ab", 2));
    std::array<char, 16> buf{};
    std::size_t n = 0;
    s.async_read_some(net::buffer(buf), [&](auto, std::size_t m) { n = m; });
    ASSERT_TRUE(run_until(ioc, [&] { return n != 0; }));
    EXPECT_EQ(n, 2u);
    EXPECT_FALSE(s.readable_edge_pending()) << "a short read drained the socket";
    net::write(p.client, net::buffer("c", 1));
    ASSERT_TRUE(run_until(ioc, [&] { return s.readable_edge_pending(); }))
        << "an arrival while no read waits is reported by the reactor";
}
#else
// The plain path knows nothing of the reactor's edges: an edge is always "maybe pending", so the
// pool peeks before every reuse.
TEST_F(ReactorSocket, PlainPathReportsAnEdgeAsAlwaysPossiblyPending) {
    EXPECT_TRUE(s.readable_edge_pending());
    net::write(p.client, net::buffer("ab", 2));
    std::array<char, 16> buf{};
    std::size_t n = 0;
    s.async_read_some(net::buffer(buf), [&](auto, std::size_t m) { n = m; });
    ASSERT_TRUE(run_until(ioc, [&] { return n != 0; }));
    EXPECT_EQ(n, 2u);
    EXPECT_TRUE(s.readable_edge_pending()) << "unknown is reported as pending";
}
#endif

// The idle wait (private path: queued on the reactor's read queue, not re-registered with epoll;
// plain path: socket::async_wait): it does not
// complete while nothing arrives, completes when bytes arrive, completes at once when an edge is
// already pending, and a cancel (what a drain does) ends it with operation_aborted.
TEST_F(ReactorSocket, IdleWaitCompletesOnArrivalAndOnCancelOnly) {
    std::array<char, 16> buf{};
    net::write(p.client, net::buffer("ab", 2));
    std::size_t n = 0;
    s.async_read_some(net::buffer(buf), [&](auto, std::size_t m) { n = m; });
    ASSERT_TRUE(run_until(ioc, [&] { return n != 0; }));
    ASSERT_EQ(s.readable_edge_pending(), edge_after_drain);

    std::optional<boost::system::error_code> waited;
    s.async_wait_readable([&](boost::system::error_code ec) { waited = ec; });
    ioc.restart();
    ioc.run_for(30ms);
    EXPECT_FALSE(waited) << "nothing arrived: the wait goes on";
    net::write(p.client, net::buffer("c", 1));
    ASSERT_TRUE(run_until(ioc, [&] { return waited.has_value(); }));
    EXPECT_FALSE(*waited);
    n = 0;
    s.async_read_some(net::buffer(buf), [&](auto, std::size_t m) { n = m; });
    ASSERT_TRUE(run_until(ioc, [&] { return n != 0; }));
    EXPECT_EQ(std::string(buf.data(), n), "c");

    // An edge already pending: the wait completes without waiting for another.
    net::write(p.client, net::buffer("d", 1));
    ASSERT_TRUE(run_until(ioc, [&] { return s.readable_edge_pending(); }));
    waited.reset();
    s.async_wait_readable([&](boost::system::error_code ec) { waited = ec; });
    ASSERT_TRUE(run_until(ioc, [&] { return waited.has_value(); }));
    EXPECT_FALSE(*waited);
    n = 0;
    s.async_read_some(net::buffer(buf), [&](auto, std::size_t m) { n = m; });
    ASSERT_TRUE(run_until(ioc, [&] { return n != 0; }));

    waited.reset();
    s.async_wait_readable([&](boost::system::error_code ec) { waited = ec; });
    ioc.restart();
    ioc.run_for(20ms);
    ASSERT_FALSE(waited);
    boost::system::error_code ignored;
    s.socket().cancel(ignored);
    ASSERT_TRUE(run_until(ioc, [&] { return waited.has_value(); }));
    EXPECT_EQ(*waited, net::error::operation_aborted);
}

// The case that would hang if an edge were lost: bytes arrive and the reactor reports them while
// no read is pending; the next read must still get them (at once, from the flag).
TEST_F(ReactorSocket, BytesReportedWhileNoReadWaitsAreStillRead) {
    std::array<char, 16> buf{};
    for (int round = 0; round < 3; ++round) {
        // Drain (short read), then let data arrive and a turn of the loop see it.
        net::write(p.client, net::buffer("xy", 2));
        std::size_t n = 0;
        s.async_read_some(net::buffer(buf), [&](auto, std::size_t m) { n = m; });
        ASSERT_TRUE(run_until(ioc, [&] { return n != 0; }));
        net::write(p.client, net::buffer("z", 1));
        ioc.restart();
        ioc.run_for(20ms);  // the reactor reports the edge; nothing waits for it
        n = 0;
        s.async_read_some(net::buffer(buf), [&](auto, std::size_t m) { n = m; });
        ASSERT_TRUE(run_until(ioc, [&] { return n != 0; })) << "round " << round;
        EXPECT_EQ(std::string(buf.data(), n), "z");
    }
}

// Bytes and the peer's close in one report: the short read that takes the bytes must not hide the
// close queued behind them (it is not reported again), so the next read finds EOF at once.
TEST_F(ReactorSocket, CloseReportedWithTheLastBytesIsStillRead) {
    std::array<char, 16> buf{};
    for (bool reactor_first : {false, true}) {
        socket_pair q(ioc);
        timed_socket t({std::move(q.server), list});
        // One exchange, as on a connection in use: the read waits, the byte comes, the short read
        // clears the flag.
        std::size_t n = 0;
        t.async_read_some(net::buffer(buf), [&](auto, std::size_t m) { n = m; });
        ioc.restart();
        ioc.run_for(10ms);
        net::write(q.client, net::buffer("a", 1));
        ASSERT_TRUE(run_until(ioc, [&] { return n != 0; }));
        ASSERT_EQ(t.readable_edge_pending(), edge_after_drain);
        n = 0;
        boost::system::error_code ec;
        if (reactor_first) {  // the read waits in the reactor when bytes and close come
            t.async_read_some(net::buffer(buf), [&](auto e, std::size_t m) {
                ec = e;
                n = m;
            });
            ioc.restart();
            ioc.run_for(10ms);
        }
        net::write(q.client, net::buffer("last", 4));
        q.client.shutdown(tcp::socket::shutdown_send);
        ioc.restart();
        ioc.run_for(20ms);  // one report: EPOLLIN | EPOLLRDHUP
        if (!reactor_first) {
            t.async_read_some(net::buffer(buf), [&](auto e, std::size_t m) {
                ec = e;
                n = m;
            });
        }
        ASSERT_TRUE(run_until(ioc, [&] { return n != 0; }));
        EXPECT_EQ(std::string(buf.data(), n), "last");
        ec = {};
        bool done = false;
        t.async_read_some(net::buffer(buf), [&](auto e, std::size_t) {
            ec = e;
            done = true;
        });
        ASSERT_TRUE(run_until(ioc, [&] { return done; }))
            << "the close behind the last bytes was lost (reactor first: " << reactor_first << ")";
        EXPECT_EQ(ec, net::error::eof);
    }
}

// A read started on a drained socket waits for the reactor and completes when bytes come, and a
// read that fills its whole buffer leaves the edge set (more may be waiting), so the rest is read.
// (The plain path: the same reads, an edge always reported as possibly pending.)
TEST_F(ReactorSocket, ReadOnADrainedSocketWaitsAndAFullReadReadsOnceMore) {
    std::array<char, 4> buf{};
    std::size_t n = 0;
    boost::system::error_code ec;
    s.async_read_some(net::buffer(buf), [&](auto e, std::size_t m) {
        ec = e;
        n = m;
    });
    ioc.restart();
    ioc.run_for(20ms);
    EXPECT_EQ(n, 0u) << "nothing was sent yet";
    EXPECT_EQ(s.readable_edge_pending(), edge_after_drain);
    net::write(p.client, net::buffer("abcdefg", 7));
    ASSERT_TRUE(run_until(ioc, [&] { return n != 0; }));
    EXPECT_EQ(n, 4u);
    EXPECT_TRUE(s.readable_edge_pending()) << "a full buffer says nothing about what is left";
    n = 0;
    s.async_read_some(net::buffer(buf), [&](auto e, std::size_t m) {
        ec = e;
        n = m;
    });
    ASSERT_TRUE(run_until(ioc, [&] { return n != 0; }));
    EXPECT_EQ(std::string(buf.data(), n), "efg");
    EXPECT_EQ(s.readable_edge_pending(), edge_after_drain);
    p.client.close();
    n = 0;
    ec = {};
    s.async_read_some(net::buffer(buf), [&](auto e, std::size_t m) {
        ec = e;
        n = m;
    });
    ASSERT_TRUE(run_until(ioc, [&] { return ec.failed(); }));
    EXPECT_EQ(ec, net::error::eof) << "a close is read as EOF";
}

// The pool's reuse check: a connection on which a readable edge arrived while it idled (a close,
// stray bytes) is peeked at before reuse; one on which nothing arrived is reused as it is.
struct PoolReuseCheck : fixtures::pool_fixture<4000> {
    // One exchange on `c`, as after an answer: the peer writes, the connection reads it all.
    void exchange(upstream_connection& c, tcp::socket& peer) {
        net::write(peer, net::buffer("answer", 6));
        std::array<char, 64> buf{};
        std::size_t n = 0;
        c.stream.async_read_some(net::buffer(buf), [&](auto, std::size_t m) { n = m; });
        run_until(ioc, [&] { return n != 0; });
        ASSERT_EQ(n, 6u);
    }
    // One turn of the loop: the reactor reports what arrived, what is posted runs.
    void turn() {
        ioc.restart();
        ioc.run_for(20ms);
    }
};

TEST_F(PoolReuseCheck, ConnectionTheUpstreamClosedWhileIdleIsNotReused) {
    auto [c, peer] = connect();
    ASSERT_TRUE(c);
    exchange(*c, peer);
    pool.give_back(std::move(c), {});
    peer.shutdown(tcp::socket::shutdown_send);  // the FIN is on the pooled socket now
    turn();                                     // and the reactor has seen it
    EXPECT_EQ(pool.take_idle(), nullptr);
    EXPECT_EQ(pool.stats().stale_dropped, 1u);
    EXPECT_EQ(pool.idle_count(), 0u);
}

TEST_F(PoolReuseCheck, ConnectionThatReceivedUnaskedBytesIsNotReused) {
    auto [c, peer] = connect();
    ASSERT_TRUE(c);
    exchange(*c, peer);
    pool.give_back(std::move(c), {});
    net::write(peer, net::buffer("HTTP/1.1 200 OK\r\n", 17));
    turn();
    EXPECT_EQ(pool.take_idle(), nullptr);
}

TEST_F(PoolReuseCheck, EdgeNotYetSeenIsFoundByThePeek) {
    // A new connection has never been read empty: the pool cannot know, so it peeks.
    auto [c, peer] = connect();
    ASSERT_TRUE(c);
    pool.give_back(std::move(c), {});
    peer.close();
    turn();
    EXPECT_EQ(pool.take_idle(), nullptr);
}

TEST_F(PoolReuseCheck, QuietLiveConnectionIsReusedWithoutACheckAndWorks) {
    auto [c, peer] = connect();
    ASSERT_TRUE(c);
    exchange(*c, peer);
    pool.give_back(std::move(c), {});
    turn();
    turn();
    upstream_connection_ptr again = pool.take_idle();
    ASSERT_TRUE(again);
    // Private path: nothing arrived, no peek needed. Plain path: the peek found it open.
    EXPECT_EQ(again->stream.tcp().readable_edge_pending(), edge_after_drain);
    EXPECT_EQ(pool.stats().reuses, 1u);
    boost::system::error_code ec;
    EXPECT_EQ(again->stream.write_now(net::buffer("GET / HTTP/1.1\r\n\r\n", 18), ec), 18u);
    std::array<char, 18> got{};
    net::read(peer, net::buffer(got));
    EXPECT_EQ(std::string(got.data(), 3), "GET");
}

}  // namespace
}  // namespace shimgate
