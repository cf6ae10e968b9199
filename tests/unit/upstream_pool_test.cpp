// The pool's idle limit: an idle connection carries a deadline that the worker's sweep enforces
// whether or not a request follows, shortened by the upstream's Keep-Alive timeout.
#include "net/upstream_pool.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "fixtures/pool_fixture.hpp"

namespace shimgate {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

using fixtures::run_until;

struct PoolIdleLimit : fixtures::pool_fixture<300> {
    // Whether the upstream's end reads the shim's close (EOF) within a bounded wait.
    bool peer_sees_close(tcp::socket& peer) {
        std::array<char, 16> buf{};
        boost::system::error_code got;
        bool done = false;
        peer.async_read_some(net::buffer(buf), [&](boost::system::error_code e, std::size_t) {
            got = e;
            done = true;
        });
        run_until(ioc, [&] { return done; });
        return done && got == net::error::eof;
    }
    void sweep(clock_type::time_point at) {
        sweep_deadlines(list, at);
        pool.drop_closed();
    }
};

TEST_F(PoolIdleLimit, IdleConnectionIsClosedAtItsDeadlineWithNoTraffic) {
    auto [c, peer] = connect();
    ASSERT_TRUE(c);
    const auto before = clock_type::now();
    pool.give_back(std::move(c), {});
    const auto after = clock_type::now();
    sweep(before + 290ms);
    EXPECT_EQ(pool.idle_count(), 1u) << "not yet idle for --upstream-idle-timeout";
    sweep(after + 300ms);
    EXPECT_EQ(pool.idle_count(), 0u) << "the sweep closed it and the pool let it go";
    EXPECT_EQ(pool.stats().stale_dropped, 1u);
    EXPECT_TRUE(peer_sees_close(peer)) << "closed with no request following";
    EXPECT_EQ(pool.take_idle(), nullptr);
}

TEST_F(PoolIdleLimit, KeepAliveTimeoutShortensTheLimitToNMinusOne) {
    upstream_pool long_pool{ioc, list, {upstream.local_endpoint()}, 1000ms, 4000ms};
    auto [c, peer] = connect();
    ASSERT_TRUE(c);
    const auto before = clock_type::now();
    long_pool.give_back(std::move(c), "timeout=2, max=100");
    const auto after = clock_type::now();
    sweep_deadlines(list, before + 990ms);
    long_pool.drop_closed();
    EXPECT_EQ(long_pool.idle_count(), 1u);
    sweep_deadlines(list, after + 1000ms);
    long_pool.drop_closed();
    EXPECT_EQ(long_pool.idle_count(), 0u) << "timeout=2: closed after 1 s, not the flag's 4 s";
    EXPECT_TRUE(peer_sees_close(peer));
}

TEST_F(PoolIdleLimit, KeepAliveTimeoutLongerThanTheFlagKeepsTheFlag) {
    auto [c, peer] = connect();
    ASSERT_TRUE(c);
    pool.give_back(std::move(c), "timeout=60");
    const auto after = clock_type::now();
    sweep(after + 300ms);
    EXPECT_EQ(pool.idle_count(), 0u);
}

TEST_F(PoolIdleLimit, KeepAliveTimeoutOfOneSecondIsNotPooled) {
    for (std::string_view ka : {"timeout=1", "timeout=0"}) {
        auto [c, peer] = connect();
        ASSERT_TRUE(c);
        pool.give_back(std::move(c), ka);
        EXPECT_EQ(pool.idle_count(), 0u) << ka;
        EXPECT_TRUE(peer_sees_close(peer)) << ka;
    }
}

TEST_F(PoolIdleLimit, JunkKeepAliveKeepsTheFlag) {
    auto [c, peer] = connect();
    ASSERT_TRUE(c);
    const auto before = clock_type::now();
    pool.give_back(std::move(c), "timeout=soon");
    sweep(before + 290ms);
    EXPECT_EQ(pool.idle_count(), 1u);
    EXPECT_TRUE(pool.take_idle() != nullptr);
}

}  // namespace
}  // namespace shimgate
