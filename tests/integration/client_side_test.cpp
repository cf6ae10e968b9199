// The client side of a request in front of a real backend (contract §7): two credential headers of
// any dialect, a WWW-Authenticate on every 401, malformed chunked bodies answered as soon as the
// bad byte arrives, a client that goes away mid-body counted as 499, the body deadline, the
// process-wide bound on buffered bodies, and an upstream's early answer relayed. Every wait is a
// bounded poll or a socket timeout; every process is started and stopped by the test.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "fake_upstream.hpp"
#include "harness.hpp"

namespace shimgate::testing {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using clock_type = std::chrono::steady_clock;

const std::string explo_json = "Content-Type: application/json\r\n";
const std::string group_body = R"({"user_group_id":"g1","name":"G"})";
const std::string customer_answer =
    R"({"success":1,"customer":{"customer_id":"g1","team_id":1,"token":"t","name":"G"}})";

// A fake upstream answering every request with `status` and a JSON body (`extra` headers added).
fake_upstream answering(unsigned status, std::string body, std::string extra = {}) {
    return fake_upstream([=](const std::string&) {
        return fake_upstream::answer(status, body, "application/json", extra);
    });
}

// ---------------------------------------------------------------------------------------------
// 1. two credential headers

TEST(ClientSide, TwoCredentialHeadersOfDifferentDialectsAre400AndNotForwarded) {
    fake_upstream up(
        [](const std::string&) { return fake_upstream::answer(200, customer_answer); });
    shim gate(up.port());
    auto r = request(gate.port, "POST", "/api/update_user_group/", group_body,
                     "Explo-Authorization: Token a\r\nAuthorization: Token b\r\n" + explo_json);
    EXPECT_EQ(r.status, 400u) << r.head << r.body;
    EXPECT_NE(r.body.find("two credential headers"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"success\":0"), std::string::npos) << r.body;  // the route's style
    // The StateSet route, whose own header is Authorization, with an Explo one beside it.
    auto s = request(gate.port, "PUT", "/v1/users/u1", R"({"name":"n"})",
                     "Authorization: Bearer a\r\nExplo-Authorization: Token b\r\n" + explo_json);
    EXPECT_EQ(s.status, 400u) << s.head << s.body;
    EXPECT_TRUE(up.requests().empty());
    // One credential is still fine.
    auto ok = request(gate.port, "POST", "/api/update_user_group/", group_body,
                      "Explo-Authorization: Token a\r\n" + explo_json);
    EXPECT_EQ(ok.status, 200u) << ok.head << ok.body;
}

// ---------------------------------------------------------------------------------------------
// 2. WWW-Authenticate on every 401

TEST(ClientSide, UpstreamChallengeOfA401IsKeptOnATranslatedRoute) {
    auto up = answering(401, R"({"success":0,"error":"bad token"})",
                        "WWW-Authenticate: Token realm=\"customers\"\r\n");
    shim gate(up.port());
    auto r = request(gate.port, "POST", "/api/update_user_group/", group_body,
                     "Explo-Authorization: Token a\r\n" + explo_json);
    EXPECT_EQ(r.status, 401u) << r.head;
    EXPECT_EQ(header_of(r.head, "WWW-Authenticate"), "Token realm=\"customers\"") << r.head;
    EXPECT_NE(r.body.find("bad token"), std::string::npos) << r.body;
}

TEST(ClientSide, UpstreamA401WithoutChallengeGetsTheShimsOwn) {
    auto up = answering(401, R"({"success":0,"error":"bad token"})");
    shim gate(up.port());
    auto r = request(gate.port, "POST", "/api/update_user_group/", group_body,
                     "Explo-Authorization: Token a\r\n" + explo_json);
    EXPECT_EQ(r.status, 401u) << r.head;
    EXPECT_EQ(header_of(r.head, "WWW-Authenticate"), "Token realm=\"shimgate\"") << r.head;
    // Other statuses carry none.
    auto forbidden = answering(403, R"({"success":0,"error":"no"})");
    shim gate2(forbidden.port());
    auto f = request(gate2.port, "POST", "/api/update_user_group/", group_body,
                     "Explo-Authorization: Token a\r\n" + explo_json);
    EXPECT_EQ(f.status, 403u);
    EXPECT_FALSE(header_of(f.head, "WWW-Authenticate")) << f.head;
}

}  // namespace
}  // namespace shimgate::testing
