// Retiring the deprecated route (contract §6.1): past its sunset and inside a dated brownout the
// Explo route answers 410 in its own style, never forwarded, after the credential check; a reload
// picks up a new schedule; --check-rules prints the schedule.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "fake_upstream.hpp"
#include "harness.hpp"

namespace shimgate::testing {
namespace {

const std::string explo_headers =
    "Explo-Authorization: Token demo-token\r\nContent-Type: application/json\r\n";
const std::string explo_body = R"({"user_group_id":"example_1","name":"Example 1"})";

TEST(Retirement, PastTheSunsetIs410InTheRoutesStyleAndNeverForwarded) {
    temp_rules t;
    fake_upstream up([](const std::string&) {
        return fake_upstream::answer(200, R"({"success":1,"customer":{"customer_id":"x"}})");
    });
    shim gate(up.port(), {"--rules", t.dir.string(), "--admin", "127.0.0.1:0"});
    // Before the reload the route forwards.
    EXPECT_EQ(
        request(gate.port, "POST", "/api/update_user_group/", explo_body, explo_headers).status,
        200u);
    const std::size_t forwarded = up.requests().size();

    t.write("explo.json", explo_rule_with(R"({"deprecation": "2020-01-01",
        "sunset": "2021-01-01T00:00:00Z", "successor": "/api/update_customer/"})"));
    gate.proc.signal(SIGHUP);
    ASSERT_TRUE(gate.proc.wait_for_line("rules reloaded")) << gate.proc.output();

    auto gone = request(gate.port, "POST", "/api/update_user_group/", explo_body, explo_headers);
    EXPECT_EQ(gone.status, 410u);
    EXPECT_EQ(header_of(gone.head, "Content-Type"), "application/json");
    EXPECT_EQ(gone.body,
              R"({"success":0,"error":"this route was retired on 2021-01-01T00:00:00Z; use )"
              R"(/api/update_customer/ instead"})");
    EXPECT_EQ(header_of(gone.head, "Deprecation"), "@1577836800");
    EXPECT_EQ(header_of(gone.head, "Sunset"), "Fri, 01 Jan 2021 00:00:00 GMT");
    EXPECT_EQ(header_of(gone.head, "Link"), R"(</api/update_customer/>; rel="successor-version")");
    // The credential is checked first; the body is not needed (even a malformed one).
    EXPECT_EQ(request(gate.port, "POST", "/api/update_user_group/", explo_body,
                      "Content-Type: application/json\r\n")
                  .status,
              401u);
    EXPECT_EQ(
        request(gate.port, "POST", "/api/update_user_group/", "{not json", explo_headers).status,
        410u);
    EXPECT_EQ(up.requests().size(), forwarded) << "a retired route reached the upstream";
    // Other routes are untouched.
    EXPECT_EQ(request(gate.port, "PUT", "/api/user", explo_body,
                      "Authorization: Token demo-token\r\nContent-Type: application/json\r\n")
                  .status,
              200u);
    const std::string metrics = request(gate.admin_port, "GET", "/metrics").body;
    EXPECT_NE(metrics.find("shimgate_refusals_total{reason=\"gone\"} 2\n"), std::string::npos)
        << metrics;

    // "serve" keeps forwarding after the sunset.
    t.write("explo.json", explo_rule_with(R"({"deprecation": "2020-01-01",
        "sunset": "2021-01-01", "after_sunset": "serve"})"));
    gate.proc.signal(SIGHUP);
    ASSERT_TRUE(gate.proc.wait_for_line("rules reloaded")) << gate.proc.output();
    EXPECT_EQ(
        request(gate.port, "POST", "/api/update_user_group/", explo_body, explo_headers).status,
        200u);
}

TEST(Retirement, BrownoutWindowOpensAndClosesUnderTraffic) {
    temp_rules t;
    fake_upstream up([](const std::string&) {
        return fake_upstream::answer(200, R"({"success":1,"customer":{"customer_id":"x"}})");
    });
    // A two-second window starting at the second whole second from now.
    const auto now = std::chrono::system_clock::now();
    const auto start = std::chrono::ceil<std::chrono::seconds>(now) + std::chrono::seconds(2);
    t.write("explo.json", explo_rule_with(R"({"deprecation": "2024-01-01", "sunset": "2099-01-01",
                "successor": "/api/update_customer/", "brownouts": [{"start": ")" +
                                          utc(start) + R"(", "duration": "2s"}]})"));
    shim gate(up.port(), {"--rules", t.dir.string()});

    // Calls back to back (bounded: 12 s at most) until the window has opened and closed again.
    std::vector<unsigned> statuses;
    std::string brownout_body;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(12);
    while (std::chrono::steady_clock::now() < give_up) {
        auto r = request(gate.port, "POST", "/api/update_user_group/", explo_body, explo_headers);
        if (statuses.empty() || statuses.back() != r.status) statuses.push_back(r.status);
        if (r.status == 410) brownout_body = r.body;
        if (statuses.size() >= 3) break;
    }
    EXPECT_EQ(statuses, (std::vector<unsigned>{200, 410, 200}));
    EXPECT_NE(
        brownout_body.find("scheduled brownout until " + utc(start + std::chrono::seconds(2))),
        std::string::npos)
        << brownout_body;
    for (const auto& raw : up.requests())
        EXPECT_EQ(request_line_of(raw), "POST /api/update_customer/ HTTP/1.1");
}

TEST(Retirement, CheckRulesPrintsTheScheduleAndRefusesBadWindows) {
    temp_rules t;
    t.write("explo.json", explo_rule_with(R"({"deprecation": "2024-01-01",
        "sunset": "2099-06-30T00:00:00Z", "successor": "/api/update_customer/",
        "brownouts": [{"start": "2024-05-04T14:00:00Z", "duration": "12h"},
                      {"start": "2099-06-01T14:00:00Z", "duration": 86400}]})"));
    child_process ok(SHIMGATE_BIN, {"--check-rules", t.dir.string()});
    EXPECT_EQ(ok.wait_exit(std::chrono::seconds(10)), 0) << ok.output();
    const std::string out = ok.output();
    EXPECT_NE(out.find("explo-update-user-group (" + (t.dir / "explo.json").string() + ")"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("deprecation 2024-01-01T00:00:00Z  past"), std::string::npos) << out;
    EXPECT_NE(out.find("brownout    2024-05-04T14:00:00Z .. 2024-05-05T02:00:00Z  past"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("brownout    2099-06-01T14:00:00Z .. 2099-06-02T14:00:00Z  to come"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("sunset      2099-06-30T00:00:00Z  to come  (then refused: 410)"),
              std::string::npos)
        << out;

    t.write("explo.json", explo_rule_with(R"({"deprecation": "2024-01-01",
        "sunset": "2099-06-30", "brownouts": [{"start": "2099-05-04T14:00:00Z", "duration": "1d"},
                                              {"start": "2099-05-05T00:00:00Z", "duration": 60}]})"));
    child_process bad(SHIMGATE_BIN, {"--check-rules", t.dir.string()});
    EXPECT_EQ(bad.wait_exit(std::chrono::seconds(10)), 2);
    EXPECT_NE(bad.output().find("explo.json"), std::string::npos) << bad.output();
    EXPECT_NE(bad.output().find("deprecation.brownouts[1]: overlaps deprecation.brownouts[0]"),
              std::string::npos)
        << bad.output();
    EXPECT_EQ(std::count(bad.output().begin(), bad.output().end(), '\n'), 1) << bad.output();
}

}  // namespace
}  // namespace shimgate::testing
