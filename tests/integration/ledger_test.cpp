// The client ledger end to end (contract §6.2), against the reference backend, real SQLite files
// and a real PostgreSQL server: restart keeps it, junk never enters, a known client's calls by
// outcome and its migration, names reloaded, a brownout opening and closing under traffic, two
// processes sharing one file or one database, a database outage, and the start-up errors of
// --ledger and --clients.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "harness.hpp"
#include "ledger/ledger_data.hpp"
#include "pg_cluster.hpp"

namespace shimgate::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string explo_body = R"({"user_group_id":"g1","name":"Group 1"})";
const std::string rule_name = "explo-update-user-group";

std::string explo_headers(const std::string& token) {
    return "Explo-Authorization: Token " + token + "\r\nContent-Type: application/json\r\n";
}

unsigned explo_call(unsigned short port, const std::string& token,
                    const std::string& body = explo_body) {
    return request(port, "POST", "/api/update_user_group/", body, explo_headers(token)).status;
}

std::string fp(const std::string& token) {
    return fingerprint_hex(fingerprint_of(token));
}

std::string migration_json(unsigned short admin) {
    return request(admin, "GET", "/migration?format=json").body;
}

// The JSON object of client `fingerprint` in a /migration?format=json body, or "".
std::string client_json(const std::string& json, const std::string& fingerprint) {
    const auto at = json.find(R"({"fingerprint":")" + fingerprint + "\"");
    if (at == std::string::npos) return {};
    const auto end = json.find('}', json.find(R"("status":)", at));
    return json.substr(at, end - at + 1);
}

std::string counts(unsigned ok, unsigned gone, unsigned error) {
    return R"({"ok":)" + std::to_string(ok) + R"(,"gone":)" + std::to_string(gone) +
           R"(,"error":)" + std::to_string(error) + "}";
}

// Whether /migration?format=json on `admin` shows `token`'s client with `ok` calls today (the
// body into `json`).
bool shows(unsigned short admin, const std::string& token, unsigned ok, std::string& json) {
    json = migration_json(admin);
    return client_json(json, fp(token)).find(R"("calls_1d":{"ok":)" + std::to_string(ok) + ",") !=
           std::string::npos;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

// A scratch directory removed at the end.
struct scratch {
    fs::path dir = temp_path("ledger");
    scratch() { fs::create_directories(dir); }
    ~scratch() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::string sqlite() const { return "sqlite:" + (dir / "ledger.sqlite3").string(); }
};

TEST(Ledger, RestartKeepsTheLedger) {
    scratch s;
    backend be;
    {
        shim gate(be.port, {"--admin", "127.0.0.1:0", "--ledger", s.sqlite()});
        for (int i = 0; i < 3; ++i) EXPECT_EQ(explo_call(gate.port, "demo-token"), 200u);
        ASSERT_EQ(gate.proc.stop(SIGTERM), 0) << gate.proc.output();
    }
    EXPECT_TRUE(fs::exists(s.dir / "ledger.sqlite3"));
    shim again(be.port, {"--admin", "127.0.0.1:0", "--ledger", s.sqlite()});
    const std::string client = client_json(migration_json(again.admin_port), fp("demo-token"));
    EXPECT_NE(client.find(R"("calls_1d":)" + counts(3, 0, 0)), std::string::npos) << client;
    EXPECT_NE(client.find(R"("status":"active")"), std::string::npos) << client;
    EXPECT_EQ(client.find("demo-token"), std::string::npos) << "never the credential itself";
}

TEST(Ledger, JunkCredentialsNeverEnter) {
    backend be;  // knows demo-token only
    shim gate(be.port, {"--admin", "127.0.0.1:0"});
    for (int i = 0; i < 2000; ++i)  // refused by the shim: an empty body lacks the required field
        ASSERT_EQ(explo_call(gate.port, "junk-" + std::to_string(i), "{}"), 400u);
    for (int i = 0; i < 200; ++i)  // forwarded, refused by the upstream
        ASSERT_EQ(explo_call(gate.port, "junk-" + std::to_string(i)), 401u);
    const std::string json = migration_json(gate.admin_port);
    EXPECT_EQ(json.find(R"("fingerprint")"), std::string::npos) << json;
    const std::string metrics = request(gate.admin_port, "GET", "/metrics").body;
    EXPECT_EQ(metrics.find("shimgate_deprecated_calls_total{"), std::string::npos);
    // A real client still enters, and only it.
    EXPECT_EQ(explo_call(gate.port, "demo-token"), 200u);
    // Noted before its answer was written: the next read sees it.
    const std::string after = migration_json(gate.admin_port);
    EXPECT_NE(client_json(after, fp("demo-token")), "") << after;
    EXPECT_EQ(after.find(R"("fingerprint")"), after.rfind(R"("fingerprint")")) << after;
}

TEST(Ledger, KnownClientCountedByOutcomeThenMigrated) {
    scratch s;
    temp_rules t;
    backend be;
    const fs::path names = s.dir / "clients.json";
    std::ofstream(names) << R"({")" << fp("demo-token") << R"(": "Acme billing"})";
    const fs::path log = s.dir / "access.log";
    shim gate(be.port, {"--admin", "127.0.0.1:0", "--rules", t.dir.string(), "--clients",
                        names.string(), "--access-log", log.string()});
    // Each call is noted before its answer is written, so the next call, on another connection
    // and maybe another worker, finds the client known.
    EXPECT_EQ(explo_call(gate.port, "demo-token"), 200u);                   // ok: enters
    EXPECT_EQ(explo_call(gate.port, "demo-token", R"({"name":1})"), 400u);  // error
    // A brownout running now: 410, counted as gone.
    const auto now = std::chrono::system_clock::now();
    t.write("explo.json",
            explo_rule_with(R"({"deprecation": "2024-01-01", "sunset": ")" + utc(now + 24h * 300) +
                            R"(", "successor": "/api/update_customer/",
        "brownouts": [{"start": ")" +
                            utc(now - 1h) + R"(", "duration": "2h"}]})"));
    gate.proc.signal(SIGHUP);
    ASSERT_TRUE(gate.proc.wait_for_line("rules reloaded")) << gate.proc.output();
    EXPECT_EQ(explo_call(gate.port, "demo-token"), 410u);
    std::string client = client_json(migration_json(gate.admin_port), fp("demo-token"));
    EXPECT_NE(client.find(R"("name":"Acme billing")"), std::string::npos) << client;
    EXPECT_NE(client.find(R"("calls_1d":)" + counts(1, 1, 1)), std::string::npos) << client;
    EXPECT_NE(client.find(R"("calls_7d":)" + counts(1, 1, 1)), std::string::npos) << client;
    EXPECT_NE(client.find(R"("status":"active")"), std::string::npos) << client;
    const std::string metrics = request(gate.admin_port, "GET", "/metrics").body;
    for (
        const char* line :
        {R"(shimgate_deprecated_calls_total{rule="explo-update-user-group",client="Acme billing",outcome="ok"} 1)",
         R"(shimgate_deprecated_calls_total{rule="explo-update-user-group",client="Acme billing",outcome="gone"} 1)",
         R"(shimgate_deprecated_calls_total{rule="explo-update-user-group",client="Acme billing",outcome="error"} 1)"})
        EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;

    // The successor, called with the upstream's own credential header and the same token.
    auto moved = request(gate.port, "POST", "/api/update_customer/", R"({"customer_id":"g1"})",
                         "Authorization: Token demo-token\r\nContent-Type: application/json\r\n");
    EXPECT_EQ(moved.status, 200u) << moved.body;
    client = client_json(migration_json(gate.admin_port), fp("demo-token"));
    EXPECT_NE(client.find(R"("status":"migrated")"), std::string::npos) << client;

    // The access log names the client of a dialect route's call, and nobody on a pass-through.
    ASSERT_EQ(gate.proc.stop(SIGTERM), 0);
    std::ifstream in(log);
    std::string line;
    int named = 0, unnamed = 0;
    while (std::getline(in, line)) {
        if (line.find(R"("path":"/api/update_user_group/")") != std::string::npos)
            named += line.find(R"("client":")" + fp("demo-token") + "\"") != std::string::npos;
        if (line.find(R"("path":"/api/update_customer/")") != std::string::npos)
            unnamed += line.find(R"("client":null)") != std::string::npos;
    }
    EXPECT_EQ(named, 3);
    EXPECT_EQ(unnamed, 1);
}

// --clients is read again on SIGHUP; a bad file is refused with a log line and the names stay.
TEST(Ledger, ClientNamesReloadOnSighup) {
    scratch s;
    backend be;
    const fs::path names = s.dir / "clients.json";
    std::ofstream(names) << R"({")" << fp("demo-token") << R"(": "Acme billing"})";
    shim gate(be.port, {"--admin", "127.0.0.1:0", "--clients", names.string()});
    EXPECT_EQ(explo_call(gate.port, "demo-token"), 200u);
    auto name_shown = [&] {
        const std::string client = client_json(migration_json(gate.admin_port), fp("demo-token"));
        const auto at = client.find(R"("name":)");
        return at == std::string::npos ? client : client.substr(at, client.find(',', at) - at);
    };
    EXPECT_EQ(name_shown(), R"("name":"Acme billing")");
    std::ofstream(names) << R"({")" << fp("demo-token") << R"(": "Acme invoicing"})";
    gate.proc.signal(SIGHUP);
    ASSERT_TRUE(gate.proc.wait_for_line("client names reloaded: 1 names")) << gate.proc.output();
    EXPECT_EQ(name_shown(), R"("name":"Acme invoicing")");
    std::ofstream(names) << "{ not json";
    gate.proc.signal(SIGHUP);
    ASSERT_TRUE(gate.proc.wait_for_line("client names reload refused")) << gate.proc.output();
    EXPECT_EQ(name_shown(), R"("name":"Acme invoicing")");
    EXPECT_NE(request(gate.admin_port, "GET", "/metrics")
                  .body.find(R"(client="Acme invoicing",outcome="ok"} 1)"),
              std::string::npos);
}

TEST(Ledger, BrownoutOpensAndClosesUnderTraffic) {
    temp_rules t;
    backend be;
    // A window of 2 s starting on the second after next.
    using namespace std::chrono;
    const auto start = ceil<seconds>(system_clock::now()) + 2s;
    t.write("explo.json", explo_rule_with(R"({"deprecation": "2024-01-01", "sunset": ")" +
                                          utc(start + 24h * 300) +
                                          R"(", "successor": "/api/update_customer/",
        "brownouts": [{"start": ")" + utc(start) +
                                          R"(", "duration": "2s"}]})"));
    shim gate(be.port, {"--admin", "127.0.0.1:0", "--rules", t.dir.string()});
    unsigned ok = 0, gone = 0, other = 0, early_gone = 0, late_gone = 0;
    const auto stop_at = start + 3s;
    for (int i = 0; i < 200000 && system_clock::now() < stop_at; ++i) {  // bounded: count, time
        const auto sent = system_clock::now();
        const unsigned status = explo_call(gate.port, "demo-token");
        const auto answered = system_clock::now();
        if (status == 200) ++ok;
        if (status != 200 && status != 410) ++other;
        if (status == 410) {
            ++gone;
            early_gone += answered < start;   // answered 410 before the window opened
            late_gone += sent >= start + 2s;  // sent after it closed
        }
    }
    EXPECT_GT(gone, 0u);
    EXPECT_GT(ok, 0u);
    EXPECT_EQ(other, 0u);
    EXPECT_EQ(early_gone, 0u);
    EXPECT_EQ(late_gone, 0u);
    // After the window: forwarded again.
    EXPECT_EQ(explo_call(gate.port, "demo-token"), 200u);
    const std::string client = client_json(migration_json(gate.admin_port), fp("demo-token"));
    EXPECT_NE(client.find(R"("calls_1d":)" + counts(ok + 1, gone, 0)), std::string::npos)
        << client << " ok=" << ok << " gone=" << gone;
}

// Two processes on one host sharing one SQLite file: each one's /migration shows the sum.
TEST(Ledger, TwoProcessesShareOneSqliteFile) {
    scratch s;
    backend be({"--token", "team-a", "--token", "team-b"});
    shim one(be.port, {"--admin", "127.0.0.1:0", "--ledger", s.sqlite(), "--ledger-flush", "0.2"});
    shim two(be.port, {"--admin", "127.0.0.1:0", "--ledger", s.sqlite(), "--ledger-flush", "0.2"});
    for (int i = 0; i < 4; ++i) EXPECT_EQ(explo_call(one.port, "team-a"), 200u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(explo_call(two.port, "team-a"), 200u);
    EXPECT_EQ(explo_call(two.port, "team-b"), 200u);
    for (unsigned short admin : {one.admin_port, two.admin_port}) {
        std::string json;
        EXPECT_TRUE(wait_until(
            [&] {
                json = migration_json(admin);
                return client_json(json, fp("team-a")).find(counts(7, 0, 0)) != std::string::npos &&
                       client_json(json, fp("team-b")).find(counts(1, 0, 0)) != std::string::npos;
            },
            10s))
            << json;
    }
    ASSERT_EQ(one.proc.stop(SIGTERM), 0);
    ASSERT_EQ(two.proc.stop(SIGTERM), 0);
    // Nothing counted twice by the drains' writes.
    shim three(be.port, {"--admin", "127.0.0.1:0", "--ledger", s.sqlite()});
    const std::string json = migration_json(three.admin_port);
    EXPECT_NE(client_json(json, fp("team-a")).find(R"("calls_30d":)" + counts(7, 0, 0)),
              std::string::npos)
        << json;
}

TEST(Ledger, BadLedgerOrClientsFileIsOneLineAtStart) {
    scratch s;
    backend be;
    auto start = [&](std::vector<std::string> extra) {
        std::vector<std::string> args{"--listen",   "127.0.0.1:0",
                                      "--upstream", "http://127.0.0.1:" + std::to_string(be.port),
                                      "--rules",    source_dir() + "/rules"};
        args.insert(args.end(), extra.begin(), extra.end());
        child_process p(SHIMGATE_BIN, args);
        const auto code = p.wait_exit(10s);
        return std::pair{code.value_or(-1), p.output()};
    };
    auto [code, out] = start({"--ledger", "mysql://u:secret@h/x"});
    EXPECT_EQ(code, 2);
    EXPECT_NE(out.find("--ledger"), std::string::npos) << out;
    EXPECT_EQ(out.find("secret"), std::string::npos) << out;
    std::tie(code, out) = start({"--ledger", "sqlite:" + (s.dir / "no/such/dir/x.db").string()});
    EXPECT_EQ(code, 2);
    EXPECT_NE(out.find("cannot open the ledger file"), std::string::npos) << out;
    std::ofstream(s.dir / "bad.json") << R"({"nothex": "x"})";
    std::tie(code, out) = start({"--ledger", "none", "--clients", (s.dir / "bad.json").string()});
    EXPECT_EQ(code, 2);
    EXPECT_NE(out.find("\"nothex\" is not a fingerprint"), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

// On a real PostgreSQL server (a throwaway cluster from Debian's postgresql package,
// pg_cluster.hpp): two processes on one ledger each show the sum; a database outage mid-run
// leaves requests alone, is logged once, and is caught up after, nothing counted twice.
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
