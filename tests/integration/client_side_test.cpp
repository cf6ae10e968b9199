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

// An upstream of one connection at a time whose bytes are under the test's control: it records
// what arrives and whether the shim closed the connection; once `answer_after` bytes have
// arrived (0: never), it writes `answer` and closes (an early answer, before the body was read).
class raw_upstream {
  public:
    explicit raw_upstream(std::string answer = {}, std::size_t answer_after = 0)
        : answer_(std::move(answer)), answer_after_(answer_after) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd_, 16);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~raw_upstream() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    raw_upstream(const raw_upstream&) = delete;
    raw_upstream& operator=(const raw_upstream&) = delete;

    unsigned short port() const { return port_; }
    std::string received() const {
        std::lock_guard<std::mutex> l(mutex_);
        return received_;
    }
    bool peer_closed() const { return peer_closed_.load(); }
    bool answered() const { return answered_.load(); }
    std::size_t connections() const { return connections_.load(); }

  private:
    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            ++connections_;
            peer_closed_ = false;
            bool answered = false;
            while (!stop_) {
                pollfd q{c, POLLIN, 0};
                if (::poll(&q, 1, 50) <= 0) continue;
                char buf[65536];
                const auto n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) {
                    peer_closed_ = true;
                    break;
                }
                std::size_t total = 0;
                {
                    std::lock_guard<std::mutex> l(mutex_);
                    received_.append(buf, static_cast<std::size_t>(n));
                    total = received_.size();
                }
                if (!answered && answer_after_ && total >= answer_after_) {
                    answered = true;
                    ::send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
                    ::close(c);  // without reading the rest
                    answered_ = true;
                    c = -1;
                    break;
                }
            }
            if (c >= 0) ::close(c);
        }
    }

    std::string answer_;
    std::size_t answer_after_;
    int fd_ = -1;
    unsigned short port_ = 0;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::string received_;
    std::atomic<bool> peer_closed_{false};
    std::atomic<bool> answered_{false};
    std::atomic<std::size_t> connections_{0};
    std::atomic<bool> stop_{false};
};

std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::filesystem::path temp_log(const std::string& name) {
    return std::filesystem::temp_directory_path() /
           ("shimgate-" + name + "-" + std::to_string(::getpid()) + "-" +
            std::to_string(clock_type::now().time_since_epoch().count()) + ".log");
}

// The value of one series of the admin listener's /metrics (exact name with labels), or -1.
double series(unsigned short admin_port, const std::string& name) {
    const auto r = request(admin_port, "GET", "/metrics");
    std::istringstream in(r.body);
    for (std::string line; std::getline(in, line);) {
        if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
            line[name.size()] == ' ')
            return std::stod(line.substr(name.size() + 1));
    }
    return -1;
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

// ---------------------------------------------------------------------------------------------
// 3. malformed chunked bodies

const std::string explo_chunked_head =
    "POST /api/update_user_group/ HTTP/1.1\r\nHost: x\r\nExplo-Authorization: Token a\r\n"
    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string upload_chunked_head =
    "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

// Sends `head`, then (once the first is sent) `body`; the status, how long the answer took, and
// (when `close_expected`) whether the shim then closed.
struct timed_answer {
    unsigned status = 0;
    std::chrono::milliseconds took{};
    bool closed = false;
};
timed_answer answer_to(unsigned short port, const std::string& head, const std::string& body,
                       bool close_expected = true) {
    raw_client c(port);
    c.send(head);
    const auto start = clock_type::now();
    c.send(body);
    auto r = c.read_response();
    timed_answer t{
        r.status, std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start)};
    t.closed = close_expected && c.closed_by_peer(5s);
    return t;
}

// A chunk line ending in a bare LF used to be held until the idle timeout (60 s), since Beast
// waits for a CRLF; now the byte itself is refused.
TEST(ClientSide, BareLfChunkLinesAre400AtOnceTranslatedAndPassThrough) {
    fake_upstream up(
        [](const std::string&) { return fake_upstream::answer(200, customer_answer); });
    shim gate(up.port());
    for (const auto& head : {explo_chunked_head, upload_chunked_head}) {
        for (const std::string body : {"5\nhello\n0\n\n", "5;ext\nhello", "5\r\nhello\r\n0\n"}) {
            const auto t = answer_to(gate.port, head, body);
            EXPECT_EQ(t.status, 400u) << head << body;
            EXPECT_LT(t.took, 3s) << head << body;
            EXPECT_TRUE(t.closed) << head << body;
        }
        // Sent in a separate write after the head: seen as it arrives, too.
        const auto t = answer_to(gate.port, head + "5\r\nhello\r\n", "5 x\n");
        EXPECT_EQ(t.status, 400u) << head;
        EXPECT_LT(t.took, 3s) << head;
    }
    EXPECT_TRUE(up.requests().empty());
}

// On pass-through the head goes upstream before the body; a bad chunk line arriving while the
// body streams closes the upstream connection at once (it is never held for the idle timeout).
TEST(ClientSide, BadChunkLineWhileStreamingReleasesTheUpstreamConnection) {
    raw_upstream up;
    shim gate(up.port());
    raw_client c(gate.port);
    c.send(upload_chunked_head + "5\r\nhello\r\n");
    ASSERT_TRUE(wait_until([&] { return up.received().find("hello") != std::string::npos; }, 5s))
        << up.received();
    const auto start = clock_type::now();
    c.send("5\nhello\n");
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 400u);
    EXPECT_TRUE(wait_until([&] { return up.peer_closed(); }, 3s));
    EXPECT_LT(clock_type::now() - start, 3s);
    EXPECT_EQ(up.received().find("0\r\n\r\n"), std::string::npos);  // never made complete
}

TEST(ClientSide, ObsFoldInATrailerIs400AndNothingIsForwardedComplete) {
    fake_upstream up(
        [](const std::string&) { return fake_upstream::answer(200, customer_answer); });
    shim gate(up.port());
    const std::string group = R"({"user_group_id":"g1"})";
    char size[16];
    std::snprintf(size, sizeof size, "%zx", group.size());
    const std::string trailers = "0\r\nX-A: b\r\n c\r\n\r\n";
    for (const auto& [head, body] :
         {std::pair{explo_chunked_head, std::string(size) + "\r\n" + group + "\r\n" + trailers},
          std::pair{upload_chunked_head, "5\r\nhello\r\n" + trailers}}) {
        const auto t = answer_to(gate.port, head, body);
        EXPECT_EQ(t.status, 400u) << head;
        EXPECT_TRUE(t.closed) << head;
        // The trailer in a separate write, after the body's last chunk line.
        const auto split = body.find("X-A");
        const auto u = answer_to(gate.port, head + body.substr(0, split), body.substr(split));
        EXPECT_EQ(u.status, 400u) << head;
    }
    EXPECT_TRUE(up.requests().empty());
    // A well-formed trailer is still fine.
    EXPECT_EQ(answer_to(gate.port, upload_chunked_head, "5\r\nhello\r\n0\r\nX-A: b\r\n\r\n", false)
                  .status,
              200u);
}

// ---------------------------------------------------------------------------------------------
// 4. a client that goes away mid-body: 499, client_abort

TEST(ClientSide, ClientGoneMidBodyIsCountedAndLoggedAs499) {
    fake_upstream up(
        [](const std::string&) { return fake_upstream::answer(200, customer_answer); });
    const auto log = temp_log("abort");
    shim gate(up.port(),
              {"--admin", "127.0.0.1:0", "--access-log", log.string(), "--threads", "1"});
    const std::string explo_499 =
        "shimgate_requests_total{rule=\"explo-update-user-group\",dialect=\"explo\",status="
        "\"499\"}";
    const std::string pass_499 =
        "shimgate_requests_total{rule=\"pass-through\",dialect=\"\",status=\"499\"}";
    const std::string aborts = "shimgate_refusals_total{reason=\"client_abort\"}";
    const std::string framing = "shimgate_refusals_total{reason=\"framing\"}";
    const double framing_before = series(gate.admin_port, framing);
    for (const std::string& bytes : {
             "POST /api/update_user_group/ HTTP/1.1\r\nHost: x\r\nExplo-Authorization: Token "
             "a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user_"s,
             "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"s,
             "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" +
                 std::string(70000, 'b'),
         }) {
        raw_client c(gate.port);
        c.send(bytes);
        c.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send);
        const auto r = c.read_response();
        EXPECT_EQ(r.status, 0u) << "nothing is written to a gone client: " << r.head;
    }
    ASSERT_TRUE(wait_until([&] { return series(gate.admin_port, aborts) >= 3; }, 5s))
        << series(gate.admin_port, aborts);
    EXPECT_EQ(series(gate.admin_port, explo_499), 1.0);
    EXPECT_EQ(series(gate.admin_port, pass_499), 2.0);
    EXPECT_EQ(series(gate.admin_port, framing), framing_before);  // not a 400 / framing
    gate.proc.stop(SIGTERM);  // the access log is flushed on exit
    const std::string lines = read_file(log);
    std::size_t n = 0;
    for (std::size_t at = 0; (at = lines.find("\"status\":499", at)) != std::string::npos; ++at)
        ++n;
    EXPECT_EQ(n, 3u) << lines;
    EXPECT_EQ(lines.find("\"status\":400"), std::string::npos) << lines;
    std::filesystem::remove(log);
}

// ---------------------------------------------------------------------------------------------
// 5. --body-timeout

// Sends `head` and then one body byte every 1.5 s, for at most `bytes` bytes or until the shim
// answers or closes; what it answered and when, from the head.
struct trickle_result {
    unsigned status = 0;
    std::chrono::milliseconds took{};
    std::size_t sent = 0;
};
trickle_result trickle(unsigned short port, const std::string& head, std::size_t bytes) {
    raw_client c(port);
    const auto start = clock_type::now();
    c.send(head);
    trickle_result t;
    const int fd = c.socket().native_handle();
    for (; t.sent < bytes; ++t.sent) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 1500) != 0) break;  // the shim answered or closed: stop sending
        if (::send(fd, "x", 1, MSG_NOSIGNAL) != 1) break;
    }
    t.status = c.read_response().status;
    t.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
    return t;
}

TEST(ClientSide, ATrickledBodyIsCutOffAtTheBodyTimeout) {
    fake_upstream up(
        [](const std::string&) { return fake_upstream::answer(200, customer_answer); });
    shim gate(up.port(), {"--body-timeout", "2", "--idle-timeout", "2"});
    // Translated: 408 in the route's style.
    const auto t =
        trickle(gate.port,
                "POST /api/update_user_group/ HTTP/1.1\r\nHost: x\r\nExplo-Authorization: "
                "Token a\r\n" +
                    explo_json + "Content-Length: 10\r\n\r\n",
                10);
    EXPECT_EQ(t.status, 408u);
    EXPECT_GE(t.took, 1900ms);
    EXPECT_LT(t.took, 4000ms);
    EXPECT_LT(t.sent, 4u);
    // Pass-through, small and streamed bodies: the connection is closed.
    for (const std::string& head :
         {"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"s,
          "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n"s,
          upload_chunked_head + "a\r\n"}) {
        const auto p = trickle(gate.port, head, 10);
        EXPECT_EQ(p.status, 0u) << head;
        EXPECT_GE(p.took, 1900ms) << head;
        EXPECT_LT(p.took, 4000ms) << head;
    }
    EXPECT_TRUE(up.requests().empty());
}

// ---------------------------------------------------------------------------------------------
// 7. early answers (RFC 9112 §9.6)

// The upstream reads the head of a 200 KB upload, answers 413 and closes without reading the
// body; the client, which has sent half of it, sends the rest only then. It used to get a 502.
TEST(ClientSide, AnEarlyUpstreamAnswerIsRelayedNotA502) {
    const std::string head = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n";
    raw_upstream up(
        "HTTP/1.1 413 Content Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large",
        100);  // after the upstream head's first bytes
    shim gate(up.port());
    raw_client c(gate.port);
    c.send(head + std::string(100000, 'a'));
    ASSERT_TRUE(wait_until([&] { return up.answered(); }, 5s));
    // The rest may find the shim's connection already closing: its write failing is fine.
    boost::system::error_code ignored;
    boost::asio::write(c.socket(), boost::asio::buffer(std::string(100000, 'b')), ignored);
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 413u) << r.head;
    EXPECT_EQ(r.body, "too large");
    EXPECT_TRUE(c.closed_by_peer(5s));
}

// ---------------------------------------------------------------------------------------------
// 6. --max-buffered-bytes

// Room for two 1000-byte bodies (and their answers): two slow senders hold theirs, a third is
// refused with 503 + Retry-After in its route's style and never forwarded; the two complete.
TEST(ClientSide, BufferedBodiesPastTheBoundAre503WithRetryAfter) {
    fake_upstream up(
        [](const std::string&) { return fake_upstream::answer(200, customer_answer); });
    shim gate(up.port(), {"--max-buffered-bytes", "2600"});
    std::string body = R"({"user_group_id":"g1","name":")";
    body += std::string(1000 - body.size() - 2, 'n') + "\"}";
    ASSERT_EQ(body.size(), 1000u);
    const std::string head =
        "POST /api/update_user_group/ HTTP/1.1\r\nHost: x\r\nExplo-Authorization: Token a\r\n" +
        explo_json + "Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n";
    // The 100 Continue comes once the body's share is held.
    raw_client a(gate.port), b(gate.port);
    a.send(head);
    ASSERT_EQ(a.read_response().status, 100u);
    b.send(head);
    ASSERT_EQ(b.read_response().status, 100u);
    a.send(body.substr(0, 10));
    b.send(body.substr(0, 10));
    {
        raw_client c(gate.port);
        c.send(head);
        const auto r = c.read_response();
        EXPECT_EQ(r.status, 503u) << r.head;
        EXPECT_EQ(header_of(r.head, "Retry-After"), "1") << r.head;
        EXPECT_NE(r.body.find("\"success\":0"), std::string::npos) << r.body;  // Explo's style
        EXPECT_TRUE(c.closed_by_peer(5s));
    }
    a.send(body.substr(10));
    b.send(body.substr(10));
    EXPECT_EQ(a.read_response().status, 200u);
    EXPECT_EQ(b.read_response().status, 200u);
    EXPECT_EQ(up.requests().size(), 2u);
    // Their shares are given back: the next two fit again.
    for (int i = 0; i < 2; ++i) {
        auto r = request(gate.port, "POST", "/api/update_user_group/", body,
                         "Explo-Authorization: Token a\r\n" + explo_json);
        EXPECT_EQ(r.status, 200u) << r.head << r.body;
    }
}

}  // namespace
}  // namespace shimgate::testing
