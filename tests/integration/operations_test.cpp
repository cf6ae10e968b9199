// Running shimgate: --check-rules, SIGHUP reload (good and bad), a new dialect added as a rule
// file only, --max-connections, and a large upload streamed in bounded memory.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "harness.hpp"

namespace shimgate::testing {
namespace {

namespace fs = std::filesystem;

// A fourth vendor's "update customer" call, written only here: no C++ knows about it.
const std::string globex_rule = R"({
  "name": "globex-update-team",
  "dialect": "globex",
  "match": {"method": "PATCH", "path": "/teams/{team}/profile"},
  "auth": {"accept": [{"header": "X-Globex-Key", "schemes": ["ApiKey"]}],
           "upstream": {"header": "Authorization", "scheme": "Token"}},
  "request": {
    "fields": {"team_ref": {"type": "string", "non_empty": true}, "title": "string"},
    "renames": {"team_ref": "customer_id", "title": "name"},
    "unknown_fields": "reject",
    "path_params": {"team": {"field": "team_ref", "mode": "inject"}}
  },
  "upstream": {"method": "POST", "path": "/api/update_customer/"},
  "response": {"copy": ["success"], "source": "customer",
               "keys": [{"from": "customer_id", "as": "team_ref"}, {"from": "name", "as": "title"}]},
  "errors": "problem"
})";

TEST(Operations, CheckRulesValidatesWithoutServing) {
    child_process ok(SHIMGATE_BIN, {"--check-rules", source_dir() + "/rules"});
    EXPECT_EQ(ok.wait_exit(std::chrono::seconds(10)), 0);
    EXPECT_NE(ok.output().find("4 rules"), std::string::npos) << ok.output();

    temp_rules t;
    t.write("zz-broken.json", R"({"name": "broken", "dialect": "x"})");
    child_process bad(SHIMGATE_BIN, {"--check-rules", t.dir.string()});
    EXPECT_EQ(bad.wait_exit(std::chrono::seconds(10)), 2);
    EXPECT_NE(bad.output().find("zz-broken.json"), std::string::npos) << bad.output();
    EXPECT_NE(bad.output().find("broken"), std::string::npos) << bad.output();
    EXPECT_EQ(std::count(bad.output().begin(), bad.output().end(), '\n'), 1) << bad.output();

    // The same refusal stops a server before it listens.
    child_process server(SHIMGATE_BIN, {"--listen", "127.0.0.1:0", "--upstream",
                                        "http://127.0.0.1:1", "--rules", t.dir.string()});
    EXPECT_EQ(server.wait_exit(std::chrono::seconds(10)), 2);
    EXPECT_EQ(server.output().find("listening"), std::string::npos);
}

TEST(Operations, NewDialectIsOnlyARuleFile) {
    temp_rules t;
    t.write("globex.json", globex_rule);
    backend be;
    shim gate(be.port, {"--rules", t.dir.string()});
    auto r = request(gate.port, "PATCH", "/teams/acme/profile", R"({"title":"Acme Inc"})",
                     "X-Globex-Key: ApiKey demo-token\r\nContent-Type: application/json\r\n");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.body, R"({"success":1,"team_ref":"acme","title":"Acme Inc"})");
    auto refused = request(gate.port, "PATCH", "/teams/acme/profile", R"({"color":"red"})",
                           "X-Globex-Key: ApiKey demo-token\r\n");
    EXPECT_EQ(refused.status, 400u);
    EXPECT_EQ(header_of(refused.head, "Content-Type"), "application/problem+json");
    EXPECT_NE(refused.body.find("color"), std::string::npos) << refused.body;
}

TEST(Operations, SighupReloadsRulesAndRefusesABadSet) {
    temp_rules t;
    backend be;
    shim gate(be.port, {"--rules", t.dir.string()});
    const std::string headers = "X-Globex-Key: ApiKey demo-token\r\n";
    // Before: no such dialect, the request passes through to the backend (404 there).
    EXPECT_EQ(
        request(gate.port, "PATCH", "/teams/acme/profile", R"({"title":"A"})", headers).status,
        404u);

    t.write("globex.json", globex_rule);
    gate.proc.signal(SIGHUP);
    ASSERT_TRUE(gate.proc.wait_for_line("rules reloaded")) << gate.proc.output();
    EXPECT_EQ(
        request(gate.port, "PATCH", "/teams/acme/profile", R"({"title":"A"})", headers).status,
        200u);

    t.write("zz-bad.json", "{ not json");
    gate.proc.signal(SIGHUP);
    auto line = gate.proc.wait_for_line("rule reload refused");
    ASSERT_TRUE(line) << gate.proc.output();
    EXPECT_NE(line->find("zz-bad.json"), std::string::npos) << *line;
    // The previous set keeps serving.
    EXPECT_EQ(
        request(gate.port, "PATCH", "/teams/acme/profile", R"({"title":"B"})", headers).status,
        200u);
}

TEST(Operations, MaxConnections) {
    backend be;
    shim gate(be.port, {"--max-connections", "2"});
    raw_client a(gate.port), b(gate.port);
    for (auto* c : {&a, &b}) {
        c->send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
        ASSERT_EQ(c->read_response().status, 200u);
    }
    raw_client third(gate.port);
    EXPECT_TRUE(third.closed_by_peer());
    // Both admitted connections still work.
    a.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(a.read_response().status, 200u);
}

TEST(Operations, LargeUploadStreamsInBoundedMemory) {
    backend be;
    shim gate(be.port, {"--max-body", "268435456"});
    const std::size_t size = 200u << 20;  // 200 MiB
    raw_client c(gate.port);
    c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(size) +
           "\r\n\r\n");
    std::string piece(1 << 16, 'u');
    for (std::size_t sent = 0; sent < size; sent += piece.size()) c.send(piece);
    auto r = c.read_response();
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "{\"received\":" + std::to_string(size) + "}");
    long rss = peak_rss_kib(gate.proc.pid());
    std::cout << "shimgate peak RSS after a 200 MiB upload: " << rss << " KiB\n";
    if (rss_is_meaningful) {
        EXPECT_LT(rss, 64 * 1024);
    }
}

}  // namespace
}  // namespace shimgate::testing
