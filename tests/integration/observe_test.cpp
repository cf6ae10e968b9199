// Operating shimgate: request ids, the access log (JSON lines, rotation on SIGUSR1), the admin
// listener's /metrics (parsed by the real Prometheus text parser) and /migration.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "fake_upstream.hpp"
#include "harness.hpp"

namespace shimgate::testing {
namespace {

namespace fs = std::filesystem;

fs::path temp_path(const std::string& name) {
    return fs::temp_directory_path() /
           ("shimgate-" + name + "-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
}

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
    auto r = request(gate.port, "POST", "/api/update_user_group/", R"({"user_group_id":"g"})",
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
    const std::string& explo = old_lines[0];
    for (const char* part : {R"("method":"POST")", R"("path":"/api/update_user_group/")",
                             R"("rule":"explo-update-user-group")", R"("dialect":"explo")", R"("status":200)",
                             R"("upstream_status":200)", R"("request_id":"req-1")", R"("peer":"127.0.0.1")"})
        EXPECT_NE(explo.find(part), std::string::npos) << part << " in " << explo;
    EXPECT_EQ(explo.find("secret-token-value"), std::string::npos) << "credentials are never logged";
    EXPECT_EQ(explo.find("user_group_id"), std::string::npos) << "bodies are never logged";
    EXPECT_NE(old_lines[1].find(R"("path":"/pass")"), std::string::npos) << old_lines[1];
    EXPECT_EQ(old_lines[1].find("secret-query"), std::string::npos);
    EXPECT_NE(new_lines[0].find(R"("request_id":"req-3")"), std::string::npos) << new_lines[0];
    fs::remove(log);
    fs::remove(rotated);
}

}  // namespace
}  // namespace shimgate::testing
