// Operating shimgate: request ids, the access log (JSON lines, rotation on SIGUSR1), the admin
// listener's /metrics (parsed by the real Prometheus text parser) and /migration.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "fake_upstream.hpp"
#include "harness.hpp"
#include "json/simdjson_support.hpp"

namespace shimgate::testing {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// Polls (bounded) until `path` holds at least `n` lines: the writer thread owns the timing.
bool wait_for_lines(const fs::path& path, std::size_t n) {
    for (int i = 0; i < 500; ++i) {
        if (lines_of(read_file(path)).size() >= n) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

TEST(Observe, RequestIdIsHonouredOrMadeForwardedAndEchoed) {
    fake_upstream up([](const std::string&) { return fake_upstream::answer(200, "{}"); });
    shim gate(up.port());
    auto given = request(gate.port, "GET", "/x", {}, "X-Request-Id: abc-123\r\n");
    EXPECT_EQ(header_of(given.head, "X-Request-Id"), "abc-123");
    auto made = request(gate.port, "GET", "/y", {}, "X-Request-Id: bad id with spaces\r\n");
    auto id = header_of(made.head, "X-Request-Id");
    ASSERT_TRUE(id);
    EXPECT_EQ(id->size(), 16u);
    auto reqs = up.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(header_of(reqs[0], "X-Request-Id"), "abc-123");
    EXPECT_EQ(header_of(reqs[1], "X-Request-Id"), *id);
    EXPECT_EQ(reqs[1].find("bad id"), std::string::npos);
    // The shim's own answers carry one too.
    auto refused = request(gate.port, "PUT", "/api/user", "{", "Authorization: Token t\r\n");
    EXPECT_EQ(refused.status, 400u);
    EXPECT_TRUE(header_of(refused.head, "X-Request-Id"));
}

TEST(Observe, AccessLogLinesAndRotation) {
    fake_upstream up([](const std::string&) {
        return fake_upstream::answer(
            200, R"({"success":1,"customer":{"customer_id":"g","team_id":1,"token":"t"}})");
    });
    fs::path log = temp_path("access") += ".log";
    shim gate(up.port(), {"--access-log", log.string()});
    auto r = request(
        gate.port, "POST", "/api/update_user_group/", R"({"user_group_id":"g"})",
        "Explo-Authorization: Token secret-token-value\r\nContent-Type: application/json\r\n"
        "X-Request-Id: req-1\r\n");
    ASSERT_EQ(r.status, 200u);
    request(gate.port, "GET", "/pass?q=secret-query", {}, "X-Request-Id: req-2\r\n");

    // Lines reach the file within the flush interval (200 ms): wait (bounded) until they have.
    ASSERT_TRUE(wait_for_lines(log, 2)) << read_file(log);
    // Rotate: move the file away, SIGUSR1, and log more.
    fs::path rotated = fs::path(log) += ".1";
    fs::rename(log, rotated);
    gate.proc.signal(SIGUSR1);
    ASSERT_TRUE(gate.proc.wait_for_line("access log reopened"));
    request(gate.port, "GET", "/after", {}, "X-Request-Id: req-3\r\n");
    // SIGTERM flushes what is buffered.
    EXPECT_EQ(gate.proc.stop(SIGTERM), 0);

    auto old_lines = lines_of(read_file(rotated));
    auto new_lines = lines_of(read_file(log));
    ASSERT_EQ(old_lines.size(), 2u) << read_file(rotated);
    ASSERT_EQ(new_lines.size(), 1u) << read_file(log);
    // Each worker thread flushes its own lines: across workers the order is not fixed.
    if (old_lines[0].find("req-1") == std::string::npos) std::swap(old_lines[0], old_lines[1]);
    const std::string& explo = old_lines[0];
    for (const char* part :
         {R"("method":"POST")", R"("path":"/api/update_user_group/")",
          R"("rule":"explo-update-user-group")", R"("dialect":"explo")", R"("status":200)",
          R"("upstream_status":200)", R"("request_id":"req-1")", R"("peer":"127.0.0.1")"})
        EXPECT_NE(explo.find(part), std::string::npos) << part << " in " << explo;
    EXPECT_EQ(explo.find("secret-token-value"), std::string::npos)
        << "credentials are never logged";
    EXPECT_EQ(explo.find("user_group_id"), std::string::npos) << "bodies are never logged";
    EXPECT_NE(old_lines[1].find(R"("path":"/pass")"), std::string::npos) << old_lines[1];
    EXPECT_EQ(old_lines[1].find("secret-query"), std::string::npos);
    EXPECT_NE(new_lines[0].find(R"("request_id":"req-3")"), std::string::npos) << new_lines[0];
    fs::remove(log);
    fs::remove(rotated);
}

// Parses a /metrics body with the real Prometheus text parser (python3-prometheus-client) and
// prints one "name{labels} value" line per sample, labels sorted: what the test asserts on.
std::map<std::string, double> parse_metrics(const std::string& text) {
    fs::path file = temp_path("metrics") += ".txt";
    std::ofstream(file) << text;
    auto r = run_shell(
        "/usr/bin/python3 -c '\n"
        "import sys\n"
        "from prometheus_client.parser import text_string_to_metric_families\n"
        "for fam in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
        "    for s in fam.samples:\n"
        "        labels = \",\".join(k + \"=\" + v for k, v in sorted(s.labels.items()))\n"
        "        print(s.name + \"{\" + labels + \"} \" + repr(float(s.value)))\n"
        "' " +
        file.string());
    fs::remove(file);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::map<std::string, double> out;
    for (const auto& line : lines_of(r.output)) {
        auto space = line.rfind(' ');
        out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

std::string fingerprint_of(const std::string& token) {
    auto r =
        run_shell("printf '%s' 'shimgate-credential-v1:" + token + "' | sha256sum | cut -c1-16");
    return r.output.substr(0, 16);
}

TEST(Observe, MetricsMoveWithEachKindOfRequestAndParse) {
    backend be;
    shim gate(be.port, {"--admin", "127.0.0.1:0"});
    unsigned short admin = gate.admin_port;
    ASSERT_NE(admin, 0);
    auto scrape = [&] { return parse_metrics(request(admin, "GET", "/metrics").body); };
    auto before = scrape();
    ASSERT_FALSE(before.empty());
    EXPECT_EQ(before["shimgate_ready{}"], 1.0);
    EXPECT_EQ(before["shimgate_rules_loaded{}"], 4.0);

    const std::string explo =
        "Explo-Authorization: Token demo-token\r\nContent-Type: application/json\r\n";
    const std::string json = "Content-Type: application/json\r\n";
    EXPECT_EQ(
        request(gate.port, "POST", "/api/update_user_group/", R"({"user_group_id":"a"})", explo)
            .status,
        200u);
    EXPECT_EQ(
        request(gate.port, "POST", "/api/update_user_group/", R"({"user_group_id":"b"})", explo)
            .status,
        200u);
    EXPECT_EQ(
        request(gate.port, "PUT", "/api/user", "{", "Authorization: Token t\r\n" + json).status,
        400u);
    EXPECT_EQ(request(gate.port, "PUT", "/api/user", R"({"user_group_id":1})",
                      "Authorization: Token t\r\n" + json)
                  .status,
              400u);
    EXPECT_EQ(request(gate.port, "PUT", "/api/user", R"({"user_group_id":"a"})", json).status,
              401u);
    EXPECT_EQ(request(gate.port, "PUT", "/api/user", "x",
                      "Authorization: Token t\r\nContent-Type: text/plain\r\n")
                  .status,
              415u);
    EXPECT_EQ(request(gate.port, "GET", "/echo/pass").status, 200u);
    {
        raw_client c(gate.port);
        c.send("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n");
        EXPECT_EQ(c.read_response().status, 400u);
    }
    auto after = scrape();
    auto delta = [&](const std::string& key) { return after[key] - before[key]; };
    EXPECT_EQ(
        delta("shimgate_requests_total{dialect=explo,rule=explo-update-user-group,status=200}"),
        2.0);
    EXPECT_EQ(
        delta("shimgate_requests_total{dialect=mintlify,rule=mintlify-update-user,status=400}"),
        2.0);
    EXPECT_EQ(
        delta("shimgate_requests_total{dialect=mintlify,rule=mintlify-update-user,status=401}"),
        1.0);
    EXPECT_EQ(delta("shimgate_requests_total{dialect=,rule=pass-through,status=200}"), 1.0);
    EXPECT_EQ(delta("shimgate_refusals_total{reason=bad_json}"), 1.0);
    EXPECT_EQ(delta("shimgate_refusals_total{reason=type}"), 1.0);
    EXPECT_EQ(delta("shimgate_refusals_total{reason=auth}"), 1.0);
    EXPECT_EQ(delta("shimgate_refusals_total{reason=content_type}"), 1.0);
    EXPECT_EQ(delta("shimgate_refusals_total{reason=framing}"), 1.0);
    EXPECT_EQ(delta("shimgate_request_duration_seconds_count{rule=explo-update-user-group}"), 2.0);
    EXPECT_EQ(delta("shimgate_request_duration_seconds_count{rule=mintlify-update-user}"), 4.0);
    EXPECT_GE(delta("shimgate_request_duration_seconds_count{rule=pass-through}"), 2.0);
    EXPECT_GE(delta("shimgate_upstream_latency_seconds_count{}"), 3.0);
    EXPECT_GE(after["shimgate_upstream_connects_total{}"], 1.0);
    EXPECT_GE(after["shimgate_upstream_reuses_total{}"], 1.0);
    // The kernel this CPU gets from simdjson's shared library (the rules' DOM reader).
    EXPECT_EQ(after["shimgate_build_info{simdjson_kernel=" + simdjson_kernel() + ",version=0.1.0}"],
              1.0);
    EXPECT_GE(after["shimgate_open_connections{}"], 0.0);

    // A refused reload is counted, the old rules keep serving.
    auto health = request(admin, "GET", "/healthz");
    EXPECT_EQ(health.status, 200u);
    EXPECT_EQ(request(admin, "GET", "/readyz").status, 200u);
}

// A refusal is counted under the reason it was made for, never under one read back from its
// words: a client value "duplicate key, malformed JSON" that the message quotes is still a type
// refusal (the body is valid JSON), and a real duplicate key is bad_json.
TEST(Observe, RefusalReasonComesFromWhereItWasMadeNotFromItsMessage) {
    backend be;
    shim gate(be.port, {"--admin", "127.0.0.1:0"});
    auto scrape = [&] { return parse_metrics(request(gate.admin_port, "GET", "/metrics").body); };
    const std::string headers = "Authorization: Token t\r\nContent-Type: application/json\r\n";
    auto before = scrape();
    auto mismatch = request(gate.port, "PUT", "/v1/users/u1",
                            R"({"user_group_id":"duplicate key, malformed JSON"})", headers);
    EXPECT_EQ(mismatch.status, 400u);
    EXPECT_NE(mismatch.body.find("duplicate key, malformed JSON"), std::string::npos)
        << "the message quotes the client's value: " << mismatch.body;
    auto after = scrape();
    auto delta = [&](const std::string& key) { return after[key] - before[key]; };
    EXPECT_EQ(delta("shimgate_refusals_total{reason=type}"), 1.0);
    EXPECT_EQ(delta("shimgate_refusals_total{reason=bad_json}"), 0.0);

    before = after;
    EXPECT_EQ(request(gate.port, "PUT", "/v1/users/u1",
                      R"({"user_group_id":"u1","user_group_id":"u1"})", headers)
                  .status,
              400u);
    after = scrape();
    EXPECT_EQ(delta("shimgate_refusals_total{reason=bad_json}"), 1.0);
    EXPECT_EQ(delta("shimgate_refusals_total{reason=type}"), 0.0);
}

TEST(Observe, MigrationPageShowsWhoStillCallsTheDeprecatedRoute) {
    backend be({"--token", "team-a-token", "--token", "team-b-token"});
    shim gate(be.port, {"--admin", "127.0.0.1:0"});
    unsigned short admin = gate.admin_port;
    ASSERT_NE(admin, 0);
    for (auto [token, calls] : {std::pair{"team-a-token", 3}, std::pair{"team-b-token", 1}}) {
        for (int i = 0; i < calls; ++i) {
            auto r =
                request(gate.port, "POST", "/api/update_user_group/", R"({"user_group_id":"g"})",
                        std::string("Explo-Authorization: Token ") + token +
                            "\r\nContent-Type: application/json\r\n");
            EXPECT_EQ(r.status, 200u);
        }
    }
    // The non-deprecated Mintlify route is not a migration concern.
    request(gate.port, "PUT", "/api/user", R"({"user_group_id":"g"})",
            "Authorization: Token team-a-token\r\nContent-Type: application/json\r\n");

    std::string a = fingerprint_of("team-a-token"), b = fingerprint_of("team-b-token");
    const std::string json = request(admin, "GET", "/migration?format=json").body;
    EXPECT_NE(json.find(R"("rule":"explo-update-user-group")"), std::string::npos) << json;
    const auto calls_of = [&](const std::string& fp) {
        const auto at = json.find(R"({"fingerprint":")" + fp + "\"");
        if (at == std::string::npos) return std::string();
        const auto from = json.find(R"("calls_1d":)", at);
        return json.substr(from, json.find('}', from) - from + 1);
    };
    EXPECT_EQ(calls_of(a), R"("calls_1d":{"ok":3,"gone":0,"error":0})") << json;
    EXPECT_EQ(calls_of(b), R"("calls_1d":{"ok":1,"gone":0,"error":0})") << json;
    EXPECT_EQ(json.find("mintlify"), std::string::npos) << json;
    EXPECT_EQ(json.find("team-a-token"), std::string::npos) << "never the credential itself";

    // The page as a person sees it: rendered by headless Chromium (Debian's), DOM and screenshot.
    if (!headless_chromium::installed()) GTEST_FAIL() << "chromium is not installed";
    headless_chromium chromium;
    fs::path shot = temp_path("migration") += ".png";
    std::string url = "http://127.0.0.1:" + std::to_string(admin) + "/migration";
    auto dom = chromium.dump_dom(url);
    EXPECT_NE(dom.output.find(a), std::string::npos) << dom.output;
    EXPECT_NE(dom.output.find(b), std::string::npos) << dom.output;
    EXPECT_NE(dom.output.find("explo-update-user-group"), std::string::npos) << dom.output;
    EXPECT_EQ(dom.output.find("team-a-token"), std::string::npos);
    auto png = chromium.screenshot(url, shot, 1200, 800);
    EXPECT_TRUE(fs::exists(shot) && fs::file_size(shot) > 1000) << png.output;
    std::cout << "migration page screenshot: " << shot.string() << "\n";
    fs::remove(shot);
}

TEST(Observe, ReadinessGoesFalseFirstOnDrain) {
    backend be;
    shim gate(be.port, {"--admin", "127.0.0.1:0"});
    unsigned short admin = gate.admin_port;
    ASSERT_NE(admin, 0);
    EXPECT_EQ(request(admin, "GET", "/readyz").status, 200u);
    raw_client busy(gate.port);
    busy.send("GET /slow?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n");
    // Wait (bounded) until the slow request is in flight at the backend.
    bool arrived = false;
    for (int i = 0; i < 200 && !arrived; ++i) {
        auto stats = request(be.port, "GET", "/stats").body;
        arrived = std::stol(stats.substr(stats.find("\"requests\":") + 11)) >= 2 + i;
    }
    ASSERT_TRUE(arrived);
    gate.proc.signal(SIGTERM);
    ASSERT_TRUE(gate.proc.wait_for_line("draining"));
    EXPECT_EQ(request(admin, "GET", "/readyz").status, 503u);  // not ready while draining
    EXPECT_EQ(busy.read_response().status, 200u);              // and the request in flight finishes
    EXPECT_EQ(gate.proc.wait_exit(std::chrono::seconds(10)), 0);
}

TEST(Observe, ReloadUnderLoadFailsNoRequest) {
    backend be;
    shim gate(be.port, {"--admin", "127.0.0.1:0"});
    // Four clients, each 300 keep-alive translated calls, while the rules are reloaded 10 times.
    std::atomic<int> failures{0}, done{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
        clients.emplace_back([&] {
            try {
                raw_client c(gate.port);
                const std::string body = R"({"user_group_id":"example_1","name":"Example 1"})";
                const std::string req =
                    "POST /api/update_user_group/ HTTP/1.1\r\nHost: x\r\n"
                    "Explo-Authorization: Token demo-token\r\n"
                    "Content-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
                for (int i = 0; i < 300; ++i) {
                    c.send(req);
                    if (c.read_response().status != 200) ++failures;
                }
            } catch (const std::exception&) {
                ++failures;  // the connection failed: a failed request too
            }
            ++done;
        });
    }
    int reloads = 0;
    bool reloaded = true;
    while (done.load() < 4 && reloads < 10 && reloaded) {
        gate.proc.signal(SIGHUP);
        reloaded = gate.proc.wait_for_line("rules reloaded").has_value();
        reloads += reloaded ? 1 : 0;
    }
    for (auto& t : clients) t.join();
    EXPECT_TRUE(reloaded) << gate.proc.output();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_GE(reloads, 1);
    // A request is counted just after its answer is written: poll (bounded) for the last ones.
    std::map<std::string, double> metrics;
    const std::string explo_ok =
        "shimgate_requests_total{dialect=explo,rule=explo-update-user-group,status=200}";
    for (int i = 0; i < 200 && metrics[explo_ok] < 1200.0; ++i)
        metrics = parse_metrics(request(gate.admin_port, "GET", "/metrics").body);
    EXPECT_EQ(metrics["shimgate_rule_reloads_total{result=applied}"], reloads);
    EXPECT_EQ(metrics["shimgate_rule_reloads_total{result=refused}"], 0.0);
    EXPECT_EQ(metrics[explo_ok], 1200.0);
}

// Polls (bounded) until the last line of `path` holds `needle`; that line, or "".
std::string wait_for_line_with(const fs::path& path, const std::string& needle) {
    for (int i = 0; i < 500; ++i) {
        for (const auto& line : lines_of(read_file(path)))
            if (line.find(needle) != std::string::npos) return line;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return {};
}

TEST(Observe, AccessLogCarriesWhatOperatorsRead) {
    fake_upstream up([](const std::string&) { return fake_upstream::answer(200, "{}"); });
    fs::path log = temp_path("access-fields") += ".log";
    shim gate(up.port(), {"--access-log", log.string()});
    const std::string up_addr = "\"upstream_addr\":\"127.0.0.1:" + std::to_string(up.port()) + "\"";
    request(gate.port, "GET", "/fields", {},
            "X-Request-Id: fields-1\r\nUser-Agent: k6/0.50 (\"quoted\")\r\n"
            "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n");
    std::string line = wait_for_line_with(log, "fields-1");
    ASSERT_FALSE(line.empty()) << read_file(log);
    for (const std::string& part :
         {std::string(R"("client_ip":"127.0.0.1")"), std::string(R"("host":"127.0.0.1")"),
          std::string(R"x("user_agent":"k6/0.50 (\"quoted\")")x"),
          std::string(R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736")"), up_addr,
          std::string(R"("error":null)")})
        EXPECT_NE(line.find(part), std::string::npos) << part << " in " << line;

    // Refused before the upstream: no upstream address; a bad traceparent (upper case): no id.
    request(gate.port, "PUT", "/api/user", R"({"user_group_id":"a"})",
            "X-Request-Id: fields-2\r\nContent-Type: application/json\r\n"
            "traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01\r\n");
    line = wait_for_line_with(log, "fields-2");
    ASSERT_FALSE(line.empty()) << read_file(log);
    for (const char* part : {R"("status":401)", R"("upstream_addr":null)", R"("trace_id":null)",
                             R"("user_agent":null)", R"("error":null)"})
        EXPECT_NE(line.find(part), std::string::npos) << part << " in " << line;
    EXPECT_EQ(gate.proc.stop(SIGTERM), 0);
    fs::remove(log);
}

// An upstream that fails mid-answer, after the head went to the client: the client's connection
// ends (the answer never looks complete), the line says so, and the request is not a 200 in
// /metrics.
TEST(Observe, AnswerCutShortIsLoggedAndCountedAsUpstreamReset) {
    const std::string reset(fake_upstream::reset_marker);
    fake_upstream up([&](const std::string&) {
        return "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial" + reset;
    });
    fs::path log = temp_path("access-reset") += ".log";
    shim gate(up.port(), {"--access-log", log.string(), "--admin", "127.0.0.1:0"});
    auto scrape = [&] { return parse_metrics(request(gate.admin_port, "GET", "/metrics").body); };
    auto before = scrape();
    auto r = request(gate.port, "GET", "/cut", {}, "X-Request-Id: cut-1\r\n");
    EXPECT_EQ(r.status, 200u);
    EXPECT_FALSE(r.complete);
    const std::string line = wait_for_line_with(log, "cut-1");
    ASSERT_FALSE(line.empty()) << read_file(log);
    EXPECT_NE(line.find(R"("status":200)"), std::string::npos) << line;  // what was sent
    EXPECT_NE(line.find(R"("error":"upstream_reset")"), std::string::npos) << line;
    const std::string ok = "shimgate_requests_total{dialect=,rule=pass-through,status=200}";
    const std::string bad = "shimgate_requests_total{dialect=,rule=pass-through,status=502}";
    std::map<std::string, double> after;
    for (int i = 0; i < 200 && after[bad] - before[bad] < 1.0; ++i) after = scrape();
    EXPECT_EQ(after[bad] - before[bad], 1.0);
    EXPECT_EQ(after[ok] - before[ok], 0.0);
    EXPECT_EQ(
        after["shimgate_upstream_resets_total{}"] - before["shimgate_upstream_resets_total{}"],
        1.0);
    EXPECT_EQ(gate.proc.stop(SIGTERM), 0);
    fs::remove(log);
}

// The standard process_* series, the in-flight gauge, and reloads by result with the time of the
// last good one.
TEST(Observe, ProcessSeriesInFlightAndReloadsByResult) {
    backend be;
    fs::path rules = temp_path("rules");
    fs::copy(source_dir() + "/rules", rules, fs::copy_options::recursive);
    shim gate(be.port, {"--admin", "127.0.0.1:0", "--rules", rules.string()});
    auto scrape = [&] { return parse_metrics(request(gate.admin_port, "GET", "/metrics").body); };
    auto m = scrape();
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_GT(m["process_start_time_seconds{}"], now - 120);
    EXPECT_LE(m["process_start_time_seconds{}"], now + 1);
    EXPECT_GT(m["process_resident_memory_bytes{}"], 1e6);
    EXPECT_GE(m["process_cpu_seconds_total{}"], 0.0);
    EXPECT_GT(m["process_open_fds{}"], 3.0);
    EXPECT_GE(m["process_max_fds{}"], m["process_open_fds{}"]);
    EXPECT_EQ(m["shimgate_requests_in_flight{}"], 0.0);
    const double loaded_at = m["shimgate_last_reload_success_timestamp_seconds{}"];
    EXPECT_GT(loaded_at, now - 120);
    EXPECT_LE(loaded_at, now + 1);

    // A slow request in flight is seen by the gauge (polled, bounded), and leaves it at 0.
    raw_client busy(gate.port);
    busy.send("GET /slow?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n");
    double in_flight = 0;
    for (int i = 0; i < 200 && in_flight < 1.0; ++i)
        in_flight = scrape()["shimgate_requests_in_flight{}"];
    EXPECT_EQ(in_flight, 1.0);
    EXPECT_EQ(busy.read_response().status, 200u);
    for (int i = 0; i < 200 && in_flight > 0.0; ++i)
        in_flight = scrape()["shimgate_requests_in_flight{}"];
    EXPECT_EQ(in_flight, 0.0);

    // A refused reload: counted, the time of the last good one unchanged.
    const fs::path broken = rules / "zz-broken.json";
    std::ofstream(broken) << "{ not json";
    gate.proc.signal(SIGHUP);
    ASSERT_TRUE(gate.proc.wait_for_line("rule reload refused"));
    m = scrape();
    EXPECT_EQ(m["shimgate_rule_reloads_total{result=refused}"], 1.0);
    EXPECT_EQ(m["shimgate_rule_reloads_total{result=applied}"], 0.0);
    EXPECT_EQ(m["shimgate_last_reload_success_timestamp_seconds{}"], loaded_at);
    // Then a good one: counted, the time moves on.
    fs::remove(broken);
    gate.proc.signal(SIGHUP);
    ASSERT_TRUE(gate.proc.wait_for_line("rules reloaded"));
    m = scrape();
    EXPECT_EQ(m["shimgate_rule_reloads_total{result=applied}"], 1.0);
    EXPECT_GT(m["shimgate_last_reload_success_timestamp_seconds{}"], loaded_at);
    fs::remove_all(rules);
}

// --version: the version and the source revision the binary was built from, exit 0.
TEST(Observe, VersionNamesTheSourceRevision) {
    auto r = run_shell(std::string(SHIMGATE_BIN) + " --version");
    EXPECT_EQ(r.exit_code, 0);
    const std::string prefix = "shimgate 0.1.0 (revision ";
    ASSERT_TRUE(r.output.starts_with(prefix)) << r.output;
    ASSERT_TRUE(r.output.ends_with(")\n")) << r.output;
    const std::string revision =
        r.output.substr(prefix.size(), r.output.size() - prefix.size() - 2);
    if (run_shell("git -C " + source_dir() + " rev-parse --git-dir").exit_code != 0) {
        EXPECT_EQ(revision, "unknown");
        return;
    }
    // `git describe --always --dirty`: [tag-N-g]<hash>[-dirty]; the hash is a commit of this
    // repository.
    std::string hash = revision;
    if (hash.ends_with("-dirty")) hash.resize(hash.size() - 6);
    if (auto g = hash.rfind("-g"); g != std::string::npos) hash = hash.substr(g + 2);
    ASSERT_GE(hash.size(), 7u) << revision;
    EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos) << revision;
    EXPECT_EQ(run_shell("git -C " + source_dir() + " cat-file -e " + hash + "^{commit}").exit_code,
              0)
        << revision;
}

// The process log: the start-up line (version, revision, flags in effect), and an unreachable
// upstream logged once when it goes and once when it is back, not once per request.
TEST(Observe, ProcessLogSaysStartUpAndUpstreamChangesOnce) {
    boost::asio::io_context ioc;
    unsigned short port = 0;
    {
        boost::asio::ip::tcp::acceptor probe(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    }  // closed: nothing listens there now
    shim gate(port, {"--threads", "2"});
    // Logged before "listening on", which the harness has waited for: already read.
    const std::string& early = gate.proc.output();
    const std::size_t at = early.find("starting:");
    ASSERT_NE(at, std::string::npos) << early;
    const std::size_t bol = early.rfind('\n', at);
    const std::optional<std::string> start =
        early.substr(bol == std::string::npos ? 0 : bol + 1,
                     early.find('\n', at) - (bol == std::string::npos ? 0 : bol + 1));
    EXPECT_NE(start->find("shimgate 0.1.0 (revision "), std::string::npos) << *start;
    EXPECT_NE(start->find("--upstream http://127.0.0.1:" + std::to_string(port)), std::string::npos)
        << *start;
    EXPECT_NE(start->find("--threads 2 "), std::string::npos) << *start;
    EXPECT_NE(start->find("--upstream-timeout 30 "), std::string::npos) << *start;

    for (int i = 0; i < 4; ++i) EXPECT_EQ(request(gate.port, "GET", "/down").status, 502u);
    ASSERT_TRUE(gate.proc.wait_for_line("upstream unreachable")) << gate.proc.output();

    // The upstream comes back on that port: one answer.
    boost::asio::ip::tcp::acceptor back(ioc);
    back.open(boost::asio::ip::tcp::v4());
    back.set_option(boost::asio::socket_base::reuse_address(true));
    back.bind({boost::asio::ip::make_address("127.0.0.1"), port});
    back.listen();
    std::thread server([&] {
        boost::asio::ip::tcp::socket s = back.accept();
        std::string got;
        char buf[4096];
        while (got.find("\r\n\r\n") == std::string::npos) {
            boost::system::error_code ec;
            const std::size_t n = s.read_some(boost::asio::buffer(buf), ec);
            if (ec) return;
            got.append(buf, n);
        }
        boost::asio::write(
            s, boost::asio::buffer(std::string_view(
                   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")));
    });
    EXPECT_EQ(request(gate.port, "GET", "/up").status, 200u);
    server.join();
    ASSERT_TRUE(gate.proc.wait_for_line("upstream reachable again")) << gate.proc.output();
    const std::string& out = gate.proc.output();
    std::size_t downs = 0;
    for (std::size_t d = out.find("upstream unreachable"); d != std::string::npos;
         d = out.find("upstream unreachable", d + 1))
        ++downs;
    EXPECT_EQ(downs, 1u) << out;
}

// "shim;dur=1.234, upstream;dur=5.678" -> {1.234, 5.678}; upstream -1 when absent; nullopt if the
// value is not of that form.
std::optional<std::pair<double, double>> server_timing_of(const std::string& value) {
    std::smatch m;
    static const std::regex form(R"(shim;dur=(\d+\.\d{3})(, upstream;dur=(\d+\.\d{3}))?)");
    if (!std::regex_match(value, m, form)) return std::nullopt;
    return std::pair{std::stod(m[1]), m[3].matched ? std::stod(m[3]) : -1.0};
}

TEST(Observe, ServerTimingTellsTheShimsTimeFromTheUpstreams) {
    backend be;
    shim gate(be.port, {"--server-timing"});
    // Translated: both entries.
    auto translated =
        request(gate.port, "POST", "/api/update_user_group/", R"({"user_group_id":"a"})",
                "Explo-Authorization: Token demo-token\r\nContent-Type: application/json\r\n");
    ASSERT_EQ(translated.status, 200u);
    auto t = header_of(translated.head, "Server-Timing");
    ASSERT_TRUE(t) << translated.head;
    auto tt = server_timing_of(*t);
    ASSERT_TRUE(tt) << *t;
    EXPECT_GE(tt->second, 0.0) << *t;

    // Pass-through to an upstream that takes 300 ms: the upstream entry holds them, the shim's
    // does not.
    auto passed = request(gate.port, "GET", "/slow?ms=300");
    ASSERT_EQ(passed.status, 200u);
    auto p = header_of(passed.head, "Server-Timing");
    ASSERT_TRUE(p) << passed.head;
    auto pt = server_timing_of(*p);
    ASSERT_TRUE(pt) << *p;
    EXPECT_GE(pt->second, 300.0) << *p;
    EXPECT_LT(pt->first, 300.0) << *p;

    // Refused by the shim: no upstream entry.
    auto refused = request(gate.port, "PUT", "/api/user", R"({"user_group_id":"a"})",
                           "Content-Type: application/json\r\n");
    ASSERT_EQ(refused.status, 401u);
    auto r = header_of(refused.head, "Server-Timing");
    ASSERT_TRUE(r) << refused.head;
    auto rt = server_timing_of(*r);
    ASSERT_TRUE(rt) << *r;
    EXPECT_EQ(rt->second, -1.0) << *r;

    // Off by default.
    shim plain(be.port);
    EXPECT_FALSE(header_of(request(plain.port, "GET", "/echo/x").head, "Server-Timing"));
    EXPECT_FALSE(
        header_of(request(plain.port, "POST", "/api/update_user_group/", R"({"user_group_id":"a"})",
                          "Explo-Authorization: Token demo-token\r\n"
                          "Content-Type: application/json\r\n")
                      .head,
                  "Server-Timing"));
}

}  // namespace
}  // namespace shimgate::testing
