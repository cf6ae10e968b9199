// The client ledger on a real PostgreSQL server (a throwaway cluster from Debian's postgresql
// package, tests/integration/pg_cluster): two shimgate processes on one ledger each show the sum,
// and a database outage mid-run leaves requests alone, is logged once, and is caught up after,
// nothing counted twice.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>

#include "harness.hpp"
#include "ledger/ledger_data.hpp"
#include "pg_cluster.hpp"

namespace shimgate::testing {
namespace {

using namespace std::chrono_literals;

const std::string explo_body = R"({"user_group_id":"g1","name":"Group 1"})";

unsigned explo_call(unsigned short port, const std::string& token) {
    return request(port, "POST", "/api/update_user_group/", explo_body,
                   "Explo-Authorization: Token " + token + "\r\nContent-Type: application/json\r\n")
        .status;
}

std::string fp(const std::string& token) {
    return fingerprint_hex(fingerprint_of(token));
}

// Whether /migration?format=json on `admin` shows `token`'s client with `ok` calls today.
bool shows(unsigned short admin, const std::string& token, unsigned ok, std::string& json) {
    json = request(admin, "GET", "/migration?format=json").body;
    const auto at = json.find(R"({"fingerprint":")" + fp(token) + "\"");
    if (at == std::string::npos) return false;
    const auto end = json.find('}', json.find(R"("status":)", at));
    return json.substr(at, end - at).find(R"("calls_1d":{"ok":)" + std::to_string(ok) + ",") !=
           std::string::npos;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

TEST(LedgerFleet, TwoProcessesOnOnePostgresShowTheSum) {
    pg_cluster db;
    ASSERT_EQ(db.start(), "");
    backend be({"--token", "team-a", "--token", "team-b"});
    const std::vector<std::string> flags{"--admin", "127.0.0.1:0",    "--ledger",
                                         db.uri(),  "--ledger-flush", "0.2"};
    shim one(be.port, flags), two(be.port, flags);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(explo_call(one.port, "team-a"), 200u);
    for (int i = 0; i < 2; ++i) EXPECT_EQ(explo_call(two.port, "team-a"), 200u);
    EXPECT_EQ(explo_call(two.port, "team-b"), 200u);
    for (unsigned short admin : {one.admin_port, two.admin_port}) {
        std::string json;
        EXPECT_TRUE(wait_until(
            [&] { return shows(admin, "team-a", 7, json) && shows(admin, "team-b", 1, json); },
            10s))
            << json;
        std::cout << "fleet /migration?format=json: " << json;
    }
    ASSERT_EQ(one.proc.stop(SIGTERM), 0) << one.proc.output();
    ASSERT_EQ(two.proc.stop(SIGTERM), 0) << two.proc.output();
    shim three(be.port, {"--admin", "127.0.0.1:0", "--ledger", db.uri()});
    std::string json;
    EXPECT_TRUE(shows(three.admin_port, "team-a", 7, json)) << json;  // nothing twice at drain
}

TEST(LedgerFleet, PostgresOutageLeavesRequestsAloneAndIsCaughtUp) {
    pg_cluster db;
    ASSERT_EQ(db.start(), "");
    backend be;
    shim gate(be.port, {"--admin", "127.0.0.1:0", "--ledger", db.uri(), "--ledger-flush", "0.2"});
    for (int i = 0; i < 3; ++i) EXPECT_EQ(explo_call(gate.port, "demo-token"), 200u);
    std::string json;
    ASSERT_TRUE(wait_until([&] { return shows(gate.admin_port, "demo-token", 3, json); }, 10s))
        << json;

    ASSERT_EQ(db.stop(), "");
    for (int i = 0; i < 5; ++i) EXPECT_EQ(explo_call(gate.port, "demo-token"), 200u);
    ASSERT_TRUE(gate.proc.wait_for_line("ledger: cannot use", 15s)) << gate.proc.output();
    // Meanwhile the page still shows everything: what was read plus what is kept.
    EXPECT_TRUE(shows(gate.admin_port, "demo-token", 8, json)) << json;
    const std::string metrics = request(gate.admin_port, "GET", "/metrics").body;
    EXPECT_EQ(metrics.find("shimgate_ledger_flush_failures_total 0\n"), std::string::npos)
        << metrics;

    ASSERT_EQ(db.start(), "");
    ASSERT_TRUE(gate.proc.wait_for_line("is back after", 15s)) << gate.proc.output();
    EXPECT_TRUE(wait_until([&] { return shows(gate.admin_port, "demo-token", 8, json); }, 10s))
        << json;
    EXPECT_EQ(occurrences(gate.proc.output(), "ledger: cannot use"), 1u) << gate.proc.output();
    ASSERT_EQ(gate.proc.stop(SIGTERM), 0);
    // What the database holds, read by a fresh process: each call once.
    shim fresh(be.port, {"--admin", "127.0.0.1:0", "--ledger", db.uri()});
    EXPECT_TRUE(shows(fresh.admin_port, "demo-token", 8, json)) << json;
}

}  // namespace
}  // namespace shimgate::testing
