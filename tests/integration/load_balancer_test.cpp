// Behind a load balancer (contract §7): X-Forwarded-* from trusted proxies, one owner per port,
// readiness that does not follow the upstream, the drain delay, and an admin listener that keeps
// answering under an idle-connection flood. Real processes over loopback.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <csignal>
#include <memory>

#include "fake_upstream.hpp"
#include "harness.hpp"

namespace shimgate::testing {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

fake_upstream::reply_fn ok_reply() {
    return [](const std::string&) { return fake_upstream::answer(200, "{}"); };
}

// A port nobody listens on: bound by the system and released at once.
unsigned short closed_port() {
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

std::vector<std::string> shim_args(unsigned short listen_port, unsigned short upstream_port) {
    return {"--listen",   "127.0.0.1:" + std::to_string(listen_port),
            "--upstream", "http://127.0.0.1:" + std::to_string(upstream_port),
            "--rules",    source_dir() + "/rules",
            "--threads",  "2",
            "--ledger",   "none"};  // no ledger file in the tests' working directory
}

// The value of shimgate_ready in a /metrics page, or -1.
int ready_metric(unsigned short admin) {
    const std::string page = request(admin, "GET", "/metrics").body;
    const auto at = page.find("\nshimgate_ready ");
    if (at == std::string::npos) return -1;
    return page[at + 16] - '0';
}

// ------------------------------------------------------------------ --trusted-proxies

const std::string forwarded_headers =
    "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
    "X-Forwarded-Host: api.example\r\n";

TEST(LoadBalancer, TrustedProxyKeepsTheClientsForwardedFields) {
    fake_upstream up(ok_reply());
    shim gate(up.port(), {"--trusted-proxies", "10.0.0.0/8, 127.0.0.1/32"});
    EXPECT_EQ(request(gate.port, "GET", "/anything", {}, forwarded_headers).status, 200u);
    ASSERT_EQ(up.requests().size(), 1u);
    const std::string seen = up.requests().front();
    EXPECT_EQ(header_of(seen, "X-Forwarded-For"), "203.0.113.7, 127.0.0.1") << seen;
    EXPECT_EQ(header_of(seen, "X-Forwarded-Proto"), "https") << seen;
    EXPECT_EQ(header_of(seen, "X-Forwarded-Host"), "api.example") << seen;

    // Without X-Forwarded-* from the balancer, the shim's own are set.
    EXPECT_EQ(request(gate.port, "GET", "/plain").status, 200u);
    ASSERT_EQ(up.requests().size(), 2u);
    const std::string plain = up.requests().back();
    EXPECT_EQ(header_of(plain, "X-Forwarded-For"), "127.0.0.1") << plain;
    EXPECT_EQ(header_of(plain, "X-Forwarded-Proto"), "http") << plain;
}

TEST(LoadBalancer, UntrustedPeerHasItsForwardedFieldsReplaced) {
    for (const std::vector<std::string>& extra :
         {std::vector<std::string>{},
          std::vector<std::string>{"--trusted-proxies", "10.0.0.0/8"}}) {
        fake_upstream up(ok_reply());
        shim gate(up.port(), extra);
        EXPECT_EQ(request(gate.port, "GET", "/anything", {}, forwarded_headers).status, 200u);
        ASSERT_EQ(up.requests().size(), 1u);
        const std::string seen = up.requests().front();
        EXPECT_EQ(header_of(seen, "X-Forwarded-For"), "127.0.0.1") << seen;
        EXPECT_EQ(header_of(seen, "X-Forwarded-Proto"), "http") << seen;
        EXPECT_NE(header_of(seen, "X-Forwarded-Host"), "api.example") << seen;
        EXPECT_EQ(seen.find("203.0.113.7"), std::string::npos) << seen;
    }
}

TEST(LoadBalancer, BadTrustedProxiesExits2) {
    child_process p(SHIMGATE_BIN, [] {
        auto a = shim_args(0, 9);
        a.push_back("--trusted-proxies");
        a.push_back("127.0.0.1/40");
        return a;
    }());
    EXPECT_EQ(p.wait_exit(std::chrono::seconds(10)), 2);
    EXPECT_NE(p.output().find("--trusted-proxies"), std::string::npos) << p.output();
}

// ------------------------------------------------------------------ one owner per port

TEST(LoadBalancer, SecondShimgateOnTheSamePortExits1) {
    fake_upstream up(ok_reply());
    shim first(up.port());
    child_process second(SHIMGATE_BIN, shim_args(first.port, up.port()));
    EXPECT_EQ(second.wait_exit(std::chrono::seconds(10)), 1) << second.output();
    const std::string line = "--listen 127.0.0.1:" + std::to_string(first.port);
    EXPECT_NE(second.output().find(line), std::string::npos) << second.output();
    // Every request, each on a new connection, is served by the first.
    for (int i = 0; i < 10; ++i) EXPECT_EQ(request(first.port, "GET", "/n").status, 200u);
    EXPECT_EQ(up.requests().size(), 10u);
}

// A listener of another program on the port, with and without SO_REUSEPORT.
TEST(LoadBalancer, ForeignListenerOnThePortExits1) {
    for (bool reuseport : {false, true}) {
        net::io_context ioc;
        tcp::acceptor foreign(ioc);
        foreign.open(tcp::v4());
        int one = 1;
        if (reuseport) {
            ASSERT_EQ(
                ::setsockopt(foreign.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one),
                0);
        }
        foreign.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        foreign.listen();
        const unsigned short port = foreign.local_endpoint().port();
        child_process p(SHIMGATE_BIN, shim_args(port, 9));
        EXPECT_EQ(p.wait_exit(std::chrono::seconds(10)), 1) << reuseport << p.output();
        EXPECT_NE(p.output().find("--listen 127.0.0.1:" + std::to_string(port)), std::string::npos)
            << p.output();
    }
}

TEST(LoadBalancer, ForeignListenerOnTheAdminPortExits1) {
    net::io_context ioc;
    tcp::acceptor foreign(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    const unsigned short port = foreign.local_endpoint().port();
    child_process p(SHIMGATE_BIN, [&] {
        auto a = shim_args(0, 9);
        a.push_back("--admin");
        a.push_back("127.0.0.1:" + std::to_string(port));
        return a;
    }());
    EXPECT_EQ(p.wait_exit(std::chrono::seconds(10)), 1) << p.output();
    EXPECT_NE(p.output().find("--admin"), std::string::npos) << p.output();
    EXPECT_NE(p.output().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << p.output();
}

// ------------------------------------------------------------------ readiness

TEST(LoadBalancer, ReadinessDoesNotFollowTheUpstreamByDefault) {
    shim gate(closed_port(), {"--admin", "127.0.0.1:0"});
    EXPECT_EQ(request(gate.admin_port, "GET", "/readyz").status, 200u);
    EXPECT_EQ(ready_metric(gate.admin_port), 1);
}

TEST(LoadBalancer, ReadyRequiresUpstreamProbesIt) {
    shim gate(closed_port(), {"--admin", "127.0.0.1:0", "--ready-requires-upstream"});
    EXPECT_EQ(request(gate.admin_port, "GET", "/readyz").status, 503u);
    EXPECT_EQ(ready_metric(gate.admin_port), 0);

    fake_upstream up(ok_reply());
    shim reachable(up.port(), {"--admin", "127.0.0.1:0", "--ready-requires-upstream"});
    EXPECT_EQ(request(reachable.admin_port, "GET", "/readyz").status, 200u);
    EXPECT_EQ(ready_metric(reachable.admin_port), 1);
}

// ------------------------------------------------------------------ --drain-delay

TEST(LoadBalancer, DrainDelayKeepsServingWhileNotReady) {
    fake_upstream up(ok_reply());
    shim gate(up.port(), {"--admin", "127.0.0.1:0", "--drain-delay", "1.5"});
    ASSERT_EQ(request(gate.admin_port, "GET", "/readyz").status, 200u);
    gate.proc.signal(SIGTERM);
    bool not_ready = false;
    for (int i = 0; i < 500 && !not_ready; ++i)
        not_ready = request(gate.admin_port, "GET", "/readyz").status == 503u;
    ASSERT_TRUE(not_ready);
    EXPECT_EQ(ready_metric(gate.admin_port), 0);
    // A new connection is still accepted and served during the delay.
    EXPECT_EQ(request(gate.port, "GET", "/after-sigterm").status, 200u);
    EXPECT_EQ(up.requests().size(), 1u);
    // Then the drain of contract §1, and a clean exit.
    EXPECT_TRUE(gate.proc.wait_for_line("draining: no new connections")) << gate.proc.output();
    EXPECT_EQ(gate.proc.wait_exit(std::chrono::seconds(15)), 0);
}

// ------------------------------------------------------------------ admin under a flood

TEST(LoadBalancer, AdminAnswersUnderAnIdleConnectionFlood) {
    fake_upstream up(ok_reply());
    shim gate(up.port(), {"--admin", "127.0.0.1:0"});
    std::vector<std::unique_ptr<raw_client>> idle;
    for (int i = 0; i < 64; ++i) idle.push_back(std::make_unique<raw_client>(gate.admin_port));
    auto health = request(gate.admin_port, "GET", "/healthz");
    EXPECT_EQ(health.status, 200u);
    EXPECT_EQ(health.body, "ok\n");
    EXPECT_EQ(request(gate.admin_port, "GET", "/readyz").status, 200u);
    // Room was made by closing the oldest idle connections.
    EXPECT_TRUE(idle.front()->closed_by_peer());
    EXPECT_FALSE(idle.back()->closed_by_peer(std::chrono::milliseconds(100)));
}

}  // namespace
}  // namespace shimgate::testing
