// Upstream keep-alive in front of a real backend (contract §7): idle pooled connections closed on
// time (the flag, the upstream's Keep-Alive timeout).
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <optional>
#include <thread>

#include "fake_upstream.hpp"
#include "harness.hpp"

namespace shimgate::testing {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// 200 to anything: an empty body to HEAD, the Customer API's answer to a translated call.
std::string ok(const std::string& request) {
    if (request.starts_with("HEAD ")) return fake_upstream::answer(200, "");
    if (request.starts_with("POST /api/update_customer/"))
        return fake_upstream::answer(
            200,
            R"({"success":1,"customer":{"customer_id":"g1","team_id":1,"token":"t","name":"G"}})");
    return fake_upstream::answer(200, "{}");
}

// Polls (bounded) until `done`; the time it took.
template <class Pred>
std::optional<clock_type::duration> time_until(Pred done, clock_type::duration limit = 5s) {
    const auto start = clock_type::now();
    while (!done()) {
        if (clock_type::now() - start > limit) return std::nullopt;
        std::this_thread::sleep_for(5ms);
    }
    return clock_type::now() - start;
}

TEST(UpstreamKeepAlive, IdleConnectionIsClosedAfterTheIdleTimeoutWithNoTraffic) {
    fake_upstream up(ok);
    shim gate(up.port(), {"--threads", "1", "--upstream-idle-timeout", "0.3"});
    raw_client c(gate.port);
    c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(c.read_response().status, 200u);
    const auto took = time_until([&] { return up.closed_by_shim() >= 1; });
    ASSERT_TRUE(took) << "the idle pooled connection stayed open with no traffic";
    EXPECT_GE(*took, 250ms);
    EXPECT_LT(*took, 2s);
}

TEST(UpstreamKeepAlive, KeepAliveTimeoutClosesOneSecondEarlier) {
    fake_upstream up([](const std::string&) {
        return fake_upstream::answer(200, "{}", "application/json", "Keep-Alive: timeout=2\r\n");
    });
    shim gate(up.port(), {"--threads", "1"});  // --upstream-idle-timeout 4 by default
    raw_client c(gate.port);
    c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(c.read_response().status, 200u);
    const auto took = time_until([&] { return up.closed_by_shim() >= 1; });
    ASSERT_TRUE(took) << "still open after 5 s";
    EXPECT_GE(*took, 900ms);
    EXPECT_LT(*took, 2500ms) << "timeout=2: closed after 1 s, not after the flag's 4 s";
}

TEST(UpstreamKeepAlive, KeepAliveTimeoutOfOneIsNotPooled) {
    fake_upstream up([](const std::string&) {
        return fake_upstream::answer(200, "{}", "application/json", "Keep-Alive: timeout=1\r\n");
    });
    shim gate(up.port(), {"--threads", "1"});
    raw_client c(gate.port);
    c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(c.read_response().status, 200u);
    const auto took = time_until([&] { return up.closed_by_shim() >= 1; });
    ASSERT_TRUE(took);
    EXPECT_LT(*took, 500ms) << "closed at once, not kept";
    c.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(c.read_response().status, 200u);
    EXPECT_EQ(up.connections(), 2u);
}

// The upstream ends a connection idle for 0.5 s; its close reaches the shim 0.3 s later, and a
// request sent in between is dropped unanswered (the close crossing it). Calls spaced around
// 0.5 s, on one client connection.
constexpr fake_upstream::options idle_closing{.idle_close = 500ms, .close_lag = 300ms};
constexpr std::array spacing{400ms, 600ms, 450ms, 650ms, 550ms, 600ms};

TEST(UpstreamKeepAlive, ShimClosesIdleConnectionsBeforeTheUpstreamDoes) {
    // A POST is never sent twice: with the shim's idle limit under the upstream's, no call may
    // meet a closing connection at all.
    fake_upstream up(ok, idle_closing);
    shim gate(up.port(), {"--threads", "1", "--upstream-idle-timeout", "0.3"});
    raw_client c(gate.port);
    auto next = clock_type::now();
    for (std::size_t i = 0; i < spacing.size(); ++i) {
        std::this_thread::sleep_until(next);  // the pace of the calls, not a synchronisation
        c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
        EXPECT_EQ(c.read_response().status, 200u) << "call " << i;
        next = clock_type::now() + spacing[i];
    }
    EXPECT_EQ(up.dropped(), 0u);
}

}  // namespace
}  // namespace shimgate::testing
