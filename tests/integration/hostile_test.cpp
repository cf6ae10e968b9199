// Hostile clients over real loopback sockets: smuggling and framing variants the Proxy suite does
// not cover, chunk-size tricks, request-target tricks, head size boundaries, pipelining after a
// lying Content-Length, slowloris, clients that never read, connection churn, pipelined floods and
// bodies cut short. Every refusal is checked for its status, the close, and that the upstream saw
// nothing (fake_upstream records only complete requests). Every loop is bounded in count and in
// time; waits poll an observable condition under a deadline.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "fake_upstream.hpp"
#include "harness.hpp"

namespace shimgate::testing {
namespace {

using namespace std::string_literals;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// helpers

// A field of /proc/PID/status in KiB ("VmRSS", "VmHWM"), or -1.
long proc_status_kib(int pid, std::string_view key) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
            line[key.size()] == ':')
            return std::stol(line.substr(key.size() + 1));
    }
    return -1;
}

long rss_kib(int pid) {
    return proc_status_kib(pid, "VmRSS");
}

long fd_count(int pid) {
    std::error_code ec;
    long n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return ec ? -1 : n;
}

// Polls `ok` every 20 ms until it holds or `timeout` passes; whether it held.
bool wait_until(const std::function<bool()>& ok, std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    for (;;) {
        if (ok()) return true;
        if (clock_type::now() > deadline) return false;
        std::this_thread::sleep_for(20ms);  // polling interval of a bounded wait
    }
}

// An unlabelled gauge or counter from the admin listener's /metrics, or -1.
double metric(unsigned short admin_port, std::string_view name) {
    auto r = request(admin_port, "GET", "/metrics");
    std::size_t pos = 0;
    while (pos < r.body.size()) {
        auto eol = r.body.find('\n', pos);
        if (eol == std::string::npos) eol = r.body.size();
        std::string_view line(r.body.data() + pos, eol - pos);
        if (line.size() > name.size() && line.substr(0, name.size()) == name &&
            line[name.size()] == ' ')
            return std::stod(std::string(line.substr(name.size() + 1)));
        pos = eol + 1;
    }
    return -1;
}

bool alive(child_process& p) {
    return !p.wait_exit(0ms).has_value();
}

// A POSIX loopback client for the cases raw_client cannot express (receive buffer set before
// connect, non-blocking writes, reset on close).
struct posix_client {
    int fd = -1;
    explicit posix_client(unsigned short port, int rcvbuf = 0) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd);
            fd = -1;
        }
    }
    ~posix_client() {
        if (fd >= 0) ::close(fd);
    }
    posix_client(const posix_client&) = delete;
    posix_client& operator=(const posix_client&) = delete;
    bool ok() const { return fd >= 0; }
    bool send_all(std::string_view s) {
        while (!s.empty()) {
            auto n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            s.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    void reset_on_close() {
        linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
};

std::string upload_head(std::string_view te_line) {
    return "POST /upload HTTP/1.1\r\nHost: x\r\n" + std::string(te_line) + "\r\n\r\n";
}

const std::string seed_body =
    R"({"user_group_id":"example_1","name":"Example 1","mapping":{"40":"213","134":"386"},"properties":{"filterValue":"value"}})";

// A fake upstream that records every complete request and answers 200 with a small JSON body,
// and a shim (default rules) in front of it.
struct recorded {
    fake_upstream up{[](const std::string&) { return fake_upstream::answer(200, "{}"); }};
    shim gate;
    explicit recorded(std::vector<std::string> extra = {}) : gate(up.port(), std::move(extra)) {}
};

// Sends `bytes` on a fresh connection; the answer's status, and whether the shim then closed.
struct outcome {
    unsigned status = 0;
    bool closed = false;
    std::string head;
};
outcome send_once(unsigned short port, std::string_view bytes) {
    raw_client c(port);
    c.send(bytes);
    auto r = c.read_response();
    outcome o{r.status, false, r.head};
    o.closed = c.closed_by_peer(5s);
    return o;
}

// Only the status of the answer to `bytes` on a fresh connection (for accepted requests: the
// connection stays open).
unsigned status_of(unsigned short port, std::string_view bytes) {
    raw_client c(port);
    c.send(bytes);
    return c.read_response().status;
}

struct Hostile : ::testing::Test {};

// ---------------------------------------------------------------------------------------------
// request smuggling: CL.TE, TE.CL, TE.TE with obfuscated Transfer-Encoding

TEST_F(Hostile, SmugglingVariantsAreRefusedWith400AndCloseAndNeverForwarded) {
    recorded s;
    // Each would let a front end and a back end disagree on where the first request ends: the
    // trailing bytes are a smuggled second request ("GPOST"/"GET /admin").
    const std::string smuggled = "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n";
    struct attempt {
        std::string name, bytes;
    };
    std::vector<attempt> attempts{
        // CL.TE / TE.CL in both orders, and with a Content-Length that covers the smuggled part
        {"CL.TE",
         "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"},
        {"TE.CL",
         "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         "Content-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n"},
        {"TE.CL with CL 0",
         "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         "Content-Length: 0\r\n\r\n" +
             smuggled},
        // TE.TE: one spelling of Transfer-Encoding each side may read differently
        {"obs-fold TE as first field",
         "POST /upload HTTP/1.1\r\n Transfer-Encoding: chunked\r\n"
         "Host: x\r\nContent-Length: 4\r\n\r\n" +
             smuggled},
        {"obs-fold TE after Host",
         "POST /upload HTTP/1.1\r\nHost: x\r\n Transfer-Encoding: "
         "chunked\r\nContent-Length: 4\r\n\r\n" +
             smuggled},
        {"TE folded value",
         "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked"
         "\r\n\r\n" +
             smuggled},
        {"space before colon",
         "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : "
         "chunked\r\nContent-Length: 4\r\n\r\n" +
             smuggled},
        {"tab before colon",
         "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: "
         "chunked\r\n\r\n" +
             smuggled},
        {"VT after value", upload_head("Transfer-Encoding: chunked\x0b") + smuggled},
        {"FF before value", upload_head("Transfer-Encoding:\x0c"
                                        "chunked") +
                                smuggled},
        {"quoted", upload_head("Transfer-Encoding: \"chunked\"") + smuggled},
        {"duplicated header",
         upload_head("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked") + smuggled},
        {"chunked then identity", upload_head("Transfer-Encoding: chunked\r\nTransfer-Encoding: "
                                              "identity") +
                                      smuggled},
        {"identity", upload_head("Transfer-Encoding: identity") + smuggled},
        {"gzip, chunked", upload_head("Transfer-Encoding: gzip, chunked") + smuggled},
        {"chunked, identity", upload_head("Transfer-Encoding: chunked, identity") + smuggled},
        {"xchunked", upload_head("Transfer-Encoding: xchunked") + smuggled},
        {"chunked with parameter", upload_head("Transfer-Encoding: chunked;q=1") + smuggled},
        {"empty TE", upload_head("Transfer-Encoding:") + smuggled},
        {"TE in HTTP/1.0",
         "POST /upload HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled},
        // Content-Length spellings two parsers could read two ways
        {"CL +4", upload_head("Content-Length: +4") + "abcd"},
        {"CL -1", upload_head("Content-Length: -1") + "abcd"},
        {"CL hex", upload_head("Content-Length: 0x4") + "abcd"},
        {"CL decimal point", upload_head("Content-Length: 4.0") + "abcd"},
        {"CL 20 digits", upload_head("Content-Length: 18446744073709551620") + "abcd"},
        {"CL empty", upload_head("Content-Length:") + "abcd"},
        {"CL with space inside", upload_head("Content-Length: 1 0") + "abcd"},
        {"CL space before colon", upload_head("Content-Length : 4") + "abcd"},
    };
    for (const auto& a : attempts) {
        auto o = send_once(s.gate.port, a.bytes);
        EXPECT_EQ(o.status, 400u) << a.name;
        EXPECT_TRUE(o.closed) << a.name;
    }
    // Every one was refused on its head: the upstream was never even connected to.
    EXPECT_EQ(s.up.requests().size(), 0u);
    EXPECT_EQ(s.up.connections(), 0u);
    EXPECT_TRUE(alive(s.gate.proc));
}

TEST_F(Hostile, SmugglingOnATranslatedRouteIsRefusedBeforeAuthAndNeverForwarded) {
    recorded s;
    std::string head =
        "PUT /api/user HTTP/1.1\r\nHost: x\r\nAuthorization: Token demo-token\r\n"
        "Content-Type: application/json\r\n";
    for (const std::string& framing :
         {"Content-Length: " + std::to_string(seed_body.size()) + "\r\nTransfer-Encoding: chunked",
          "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity"s,
          "Transfer-Encoding : chunked"s}) {
        auto o = send_once(s.gate.port, head + framing + "\r\n\r\n" + seed_body);
        EXPECT_EQ(o.status, 400u) << framing;
        EXPECT_TRUE(o.closed) << framing;
    }
    EXPECT_EQ(s.up.connections(), 0u);
}

// Spellings RFC 9112 says are the one chunked coding: accepted, de-chunked correctly, and the
// request after it on the same connection is read where the chunked body ends.
TEST_F(Hostile, LegitimateTransferEncodingSpellingsAreAcceptedAsChunked) {
    recorded s;
    for (const std::string te_line :
         {"Transfer-Encoding: ChUnKeD", "Transfer-Encoding: CHUNKED", "Transfer-Encoding: chunked ",
          "Transfer-Encoding:\tchunked", "Transfer-Encoding:chunked", "TRANSFER-encoding: chunked",
          "Transfer-Encoding: \t chunked\t "}) {
        std::size_t before = s.up.requests().size();
        raw_client c(s.gate.port);
        c.send(upload_head(te_line) +
               "5\r\nhello\r\n0\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
        auto first = c.read_response();
        auto second = c.read_response();
        EXPECT_EQ(first.status, 200u) << te_line;
        EXPECT_EQ(second.status, 200u) << te_line;
        auto reqs = s.up.requests();
        ASSERT_EQ(reqs.size(), before + 2) << te_line;
        EXPECT_EQ(request_line_of(reqs[before]), "POST /upload HTTP/1.1");
        EXPECT_EQ(body_of(reqs[before]), "hello") << te_line;
        EXPECT_EQ(request_line_of(reqs[before + 1]), "GET /after HTTP/1.1") << te_line;
    }
}

// ---------------------------------------------------------------------------------------------
// chunk-size tricks

TEST_F(Hostile, ChunkSizeTricksAreRefusedAndNothingCompleteReachesTheUpstream) {
    recorded s;
    struct attempt {
        std::string name, body;
    };
    std::vector<attempt> attempts{
        {"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"},
        {"plus sign", "+5\r\nhello\r\n0\r\n\r\n"},
        {"minus sign", "-5\r\nhello\r\n0\r\n\r\n"},
        {"overflowing size", "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n"},
        {"64-bit wrap to 5", "10000000000000005\r\nhello\r\n0\r\n\r\n"},
        {"bare LF after size", "5\nhello\r\n0\r\n\r\n"},
        {"bare CR after size", "5\rhello\r\n0\r\n\r\n"},
        {"space in size", "5 5\r\nhello\r\n0\r\n\r\n"},
        {"empty size", "\r\nhello\r\n0\r\n\r\n"},
        {"data longer than size", "5\r\nhelloXX\r\n0\r\n\r\n"},
        {"missing CRLF after data", "5\r\nhello0\r\n\r\n"},
        {"bare LF after data", "5\r\nhello\n0\r\n\r\n"},
        {"NUL in size", "5\0\r\nhello\r\n0\r\n\r\n"s},
    };
    for (const auto& a : attempts) {
        auto o = send_once(s.gate.port, upload_head("Transfer-Encoding: chunked") + a.body +
                                            "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
        // The overflowing size may be refused as a bad chunk (400) or as a body over the
        // limit (413): both end the connection before anything is forwarded whole.
        if (a.name == "overflowing size" || a.name == "64-bit wrap to 5") {
            EXPECT_TRUE(o.status == 400u || o.status == 413u) << a.name << ": " << o.status;
        } else {
            EXPECT_EQ(o.status, 400u) << a.name;
        }
        EXPECT_TRUE(o.closed) << a.name;
    }
    // The head of a chunked request is streamed upstream before its body, so connections are
    // opened; but no request (nor the smuggled GET) ever arrives complete.
    for (const auto& r : s.up.requests()) ADD_FAILURE() << "forwarded: " << r.substr(0, 200);
    EXPECT_TRUE(alive(s.gate.proc));
}

TEST_F(Hostile, ChunkExtensionsAndLeadingZerosAreAccepted) {
    recorded s;
    for (const std::string& body :
         {"5;ext=1\r\nhello\r\n0\r\n\r\n"s, "5;a=1;b=\"q\"\r\nhello\r\n0;x=y\r\n\r\n"s,
          "0005\r\nhello\r\n0\r\n\r\n"s, "3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"s}) {
        std::size_t before = s.up.requests().size();
        raw_client c(s.gate.port);
        c.send(upload_head("Transfer-Encoding: chunked") + body);
        EXPECT_EQ(c.read_response().status, 200u) << body;
        auto reqs = s.up.requests();
        ASSERT_EQ(reqs.size(), before + 1) << body;
        // Re-chunked by the shim: the client's extensions never reach the upstream.
        EXPECT_EQ(body_of(reqs.back()), "hello") << body;
        EXPECT_EQ(reqs.back().find("ext="), std::string::npos);
    }
}

// ---------------------------------------------------------------------------------------------
// request-target tricks

TEST_F(Hostile, RequestTargetTricks) {
    recorded s;
    // NUL / controls in the target: 400 and close.
    for (const std::string& bytes :
         {"GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n"s, "GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n"s,
          "GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n"s, "GET * HTTP/1.1\r\nHost: x\r\n\r\n"s,
          "POST * HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"s,
          "GET evil/x HTTP/1.1\r\nHost: x\r\n\r\n"s,
          "GET ftp://evil/x HTTP/1.1\r\nHost: x\r\n\r\n"s,
          "GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n"s}) {
        auto o = send_once(s.gate.port, bytes);
        EXPECT_EQ(o.status, 400u) << bytes;
        EXPECT_TRUE(o.closed) << bytes;
    }
    EXPECT_EQ(s.up.connections(), 0u);

    // OPTIONS * is fine.
    EXPECT_EQ(request(s.gate.port, "OPTIONS", "*").status, 200u);
    auto reqs = s.up.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(request_line_of(reqs[0]), "OPTIONS * HTTP/1.1");

    // Absolute-form to another host: forwarded in origin form to the configured upstream only,
    // with the upstream's own Host.
    const std::string up_host = "127.0.0.1:" + std::to_string(s.up.port());
    for (auto [target, origin] :
         std::vector<std::pair<std::string, std::string>>{{"http://evil/", "/"},
                                                          {"http://evil", "/"},
                                                          {"HTTP://EVIL:8080/x/y?z=1", "/x/y?z=1"},
                                                          {"https://evil?q", "/?q"}}) {
        std::size_t before = s.up.requests().size();
        auto r = request(s.gate.port, "GET", target, {}, "X-Forwarded-Host: attacker\r\n");
        EXPECT_EQ(r.status, 200u) << target;
        reqs = s.up.requests();
        ASSERT_EQ(reqs.size(), before + 1) << target;
        EXPECT_EQ(request_line_of(reqs.back()), "GET " + origin + " HTTP/1.1") << target;
        EXPECT_EQ(header_of(reqs.back(), "Host"), up_host) << target;
        EXPECT_NE(header_of(reqs.back(), "X-Forwarded-Host"), "attacker") << target;
    }

    // Absolute-form (and a dot-segment spelling) of a translated route cannot skip the route's
    // checks: no credential is still a 401, nothing forwarded.
    std::size_t before = s.up.requests().size();
    for (const std::string target :
         {"http://evil/api/user", "http://evil/x/../api/user", "HTTP://evil/api//user"}) {
        auto r =
            request(s.gate.port, "PUT", target, seed_body, "Content-Type: application/json\r\n");
        EXPECT_EQ(r.status, 401u) << target;
    }
    EXPECT_EQ(s.up.requests().size(), before);
}

// Regression (found by this suite, fixed): the authority of an absolute-form target is copied into
// X-Forwarded-Host without any of the checks a Host value gets (valid_host): userinfo
// ("user:pass@evil", credentials then reach the upstream and its logs), '\\', '"', '<', '>' all
// reach the upstream. RFC 9110 §4.2.4: a recipient SHOULD treat userinfo as an error. Suggested
// fix: in check_request_framing, for absolute-form, extract the authority (as session.cpp
// absolute_authority does) and refuse it with 400 unless valid_host() holds, and tighten valid_host
// to RFC 3986 uri-host characters (unreserved / pct-encoded / sub-delims, '[', ']', ':'), which
// also refuses '"', '<', '>', '{',
// '}', '|', '^' and '`' in Host itself (accepted today).
TEST_F(Hostile, AbsoluteFormAuthorityIsValidatedLikeHost) {
    recorded s;
    auto refused = [&](const std::string& bytes, const std::string& what) {
        raw_client c(s.gate.port);
        c.send(bytes);
        auto r = c.read_response();
        EXPECT_EQ(r.status, 400u) << what;
        if (r.status == 400u) {
            EXPECT_TRUE(c.closed_by_peer(5s)) << what;
        }
    };
    for (const std::string target : {"http://user:pass@evil/x", "http://evil\"<>/x",
                                     "http://evil\\x/x", "http://evil{}/x", "http://@/x"})
        refused("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n", target);
    for (const std::string host : {"evil\"<>", "evil{}", "evil|x", "evil`x"})
        refused("GET /x HTTP/1.1\r\nHost: " + host + "\r\n\r\n", host);
    for (const auto& r : s.up.requests())
        ADD_FAILURE() << "forwarded with X-Forwarded-Host: "
                      << header_of(r, "X-Forwarded-Host").value_or("(none)");
}

// Regression (found by this suite, fixed): chunk headers, chunk extensions and trailers are
// buffered without any limit. Beast keeps every byte of an unfinished chunk-size line or trailer
// section in the session's flat_buffer (unbounded max_size) until it sees CRLF, and a body read
// only has the per-read --idle-timeout, so one client sending "5;" followed by endless bytes grows
// the shim's memory by as much as it sends (300 MiB sent -> VmRSS 307 MiB, measured) until the OOM
// killer ends every connection. Reproducer:
//   (printf 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;';
//    head -c 300000000 /dev/zero | tr '\0' a) | nc 127.0.0.1 8080   # watch VmRSS
// Suggested fix: bound client_session::buffer_: construct it as flat_buffer(limit) with limit =
// read_size + max(max_request_line + max_header_bytes + 4, 64 KiB), make read_head prepare
// min(read_size, max_size() - size()), and Beast's read then fails with http::error::
// buffer_overflow, which read_whole_body/stream_request_body already turn into a 400 (bad chunked
// body) and a close. Do the same for upstream_connection::buffer (see the upstream test below).
TEST_F(Hostile, EndlessChunkHeadersAndTrailersAreNotBuffered) {
    struct attempt {
        std::string name, prefix, filler;
    };
    const std::string chunked = upload_head("Transfer-Encoding: chunked");
    for (const auto& a : std::vector<attempt>{
             {"chunk extension", chunked + "5;", "a"},
             {"chunk size digits", chunked, "0"},
             {"trailer value", chunked + "5\r\nhello\r\n0\r\nX-T: ", "a"},
             {"trailer fields", chunked + "5\r\nhello\r\n0\r\n", "X-T: a\r\n"},
             {"translated route chunk extension",
              "PUT /api/user HTTP/1.1\r\nHost: x\r\nAuthorization: Token demo-token\r\n"
              "Transfer-Encoding: chunked\r\n\r\n5;",
              "a"}}) {
        recorded s({"--threads", "1"});  // a fresh process: a clean resident-set baseline
        const int pid = s.gate.proc.pid();
        long rss_before = rss_kib(pid);
        posix_client c(s.gate.port);
        ASSERT_TRUE(c.ok());
        ASSERT_TRUE(c.send_all(a.prefix));
        ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
        std::string block;
        while (block.size() < 65536) block += a.filler;
        // At most 32 MiB or 10 s; stops early when the shim answers or closes.
        std::uint64_t sent = 0;
        long max_rss = rss_before;
        auto start = clock_type::now();
        bool answered = false;
        while (sent < (32u << 20) && clock_type::now() - start < 10s && !answered) {
            auto n = ::send(c.fd, block.data(), block.size(), MSG_NOSIGNAL);
            if (n > 0)
                sent += static_cast<std::uint64_t>(n);
            else if (errno != EAGAIN && errno != EWOULDBLOCK)
                answered = true;  // reset / EPIPE
            pollfd p{c.fd, static_cast<short>(n > 0 ? POLLIN : POLLIN | POLLOUT), 0};
            if (::poll(&p, 1, n > 0 ? 0 : 100) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
                answered = true;
            max_rss = std::max(max_rss, rss_kib(pid));
        }
        max_rss = std::max(max_rss, rss_kib(pid));
        EXPECT_TRUE(answered) << a.name << ": " << (sent >> 20) << " MiB taken without an answer";
        if (rss_is_meaningful) {
            EXPECT_LT(max_rss - rss_before, 16 * 1024) << a.name << ": KiB of growth";
        }
        if (answered) {
            char buf[256] = {};
            ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) & ~O_NONBLOCK);
            pollfd p{c.fd, POLLIN, 0};
            if (::poll(&p, 1, 5000) > 0 && ::recv(c.fd, buf, sizeof buf - 1, 0) > 0) {
                EXPECT_EQ(std::string(buf).rfind("HTTP/1.1 400", 0), 0u) << a.name << ": " << buf;
            }
        }
        for (const auto& r : s.up.requests()) ADD_FAILURE() << "forwarded: " << r.substr(0, 200);
        EXPECT_TRUE(alive(s.gate.proc));
    }
}

// Regression (found by this suite, fixed): the same unbounded buffering on the upstream side: an
// answer whose chunk-size line never ends ("5;" and then endless bytes) is buffered whole in
// upstream_connection::buffer, each read bounded only by --upstream-timeout (30 s by default; a
// loopback upstream sends gigabytes in that time), so a broken or hostile upstream grows the shim
// by what it sends (48 MiB sent -> VmRSS +49 MiB, then a 504 when the timeout ends the read).
// Suggested fix: give the pool's flat_buffer a limit (e.g. 64 KiB + the response header limit);
// the relay then fails with buffer_overflow and the client gets a 502 (nothing sent yet).
TEST_F(Hostile, UpstreamEndlessChunkHeaderIsNotBuffered) {
    const std::string endless =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;" + std::string(48u << 20, 'a');
    fake_upstream up([&](const std::string&) { return endless; });
    shim gate(up.port(), {"--threads", "1", "--upstream-timeout", "3"});
    const int pid = gate.proc.pid();
    long rss_before = rss_kib(pid);
    raw_client c(gate.port);
    c.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    long max_rss = rss_before;
    pollfd p{c.socket().native_handle(), POLLIN, 0};
    // Until the shim answers (bounded: 10 s), sampling its resident set.
    wait_until(
        [&] {
            max_rss = std::max(max_rss, rss_kib(pid));
            return ::poll(&p, 1, 0) > 0;
        },
        10s);
    auto r = c.read_response();
    EXPECT_EQ(r.status, 502u);
    if (rss_is_meaningful) {
        EXPECT_LT(max_rss - rss_before, 16 * 1024) << "KiB of growth";
    }
}

// ---------------------------------------------------------------------------------------------
// head size boundaries (the Proxy suite checks 9000-byte lines and 17000-byte headers, sent whole)

TEST_F(Hostile, RequestLineAndHeaderBlockLimitsAreExact) {
    recorded s;
    auto line_of = [](std::size_t len) {  // a request line of exactly `len` bytes (no CRLF)
        std::string prefix = "GET /", suffix = " HTTP/1.1";
        return prefix + std::string(len - prefix.size() - suffix.size(), 'a') + suffix;
    };
    EXPECT_EQ(status_of(s.gate.port, line_of(8192) + "\r\nHost: x\r\n\r\n"), 200u);
    auto o = send_once(s.gate.port, line_of(8193) + "\r\nHost: x\r\n\r\n");
    EXPECT_EQ(o.status, 414u);
    EXPECT_TRUE(o.closed);

    // The header block (field lines with their CRLFs, without the final empty line).
    auto block_of = [](std::size_t len) {
        std::string host = "Host: x\r\n", pre = "X-Pad: ";
        return host + pre + std::string(len - host.size() - pre.size() - 2, 'v') + "\r\n";
    };
    EXPECT_EQ(status_of(s.gate.port, "GET /h HTTP/1.1\r\n" + block_of(16384) + "\r\n"), 200u);
    o = send_once(s.gate.port, "GET /h HTTP/1.1\r\n" + block_of(16385) + "\r\n");
    EXPECT_EQ(o.status, 431u);
    EXPECT_TRUE(o.closed);

    // 100 fields are fine (Host + 99).
    std::string fields = "Host: x\r\n";
    for (int i = 0; i < 99; ++i) fields += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(status_of(s.gate.port, "GET /f HTTP/1.1\r\n" + fields + "\r\n"), 200u);
    EXPECT_EQ(s.up.requests().size(), 3u);
}

TEST_F(Hostile, OverlongHeadsAreRefusedBeforeTheyEnd) {
    // The client never finishes the head: the limit must trip on what has arrived, not wait for
    // CRLFCRLF (or the head deadline, here 30 s so that it cannot be what answers).
    recorded s({"--header-timeout", "30"});
    struct attempt {
        std::string bytes;
        unsigned status;
    };
    for (const auto& a : std::vector<attempt>{
             {"GET /" + std::string(9000, 'a'), 414},
             {"GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(17000, 'v'), 431},
             {"GET /x HTTP/1.1\r\nHost: x\r\n" +
                  [] {
                      std::string f;
                      for (int i = 0; i < 2000; ++i) f += "X-" + std::to_string(i) + ": v\r\n";
                      return f;
                  }(),
              431}}) {
        auto start = clock_type::now();
        raw_client c(s.gate.port);
        c.send(a.bytes);
        auto r = c.read_response();
        EXPECT_EQ(r.status, a.status) << a.bytes.substr(0, 60);
        EXPECT_TRUE(c.closed_by_peer(5s));
        EXPECT_LT(clock_type::now() - start, 5s);
    }
    EXPECT_EQ(s.up.connections(), 0u);
}

// ---------------------------------------------------------------------------------------------
// a body behind Content-Length: 0 is the next request, and goes through every check

TEST_F(Hostile, BytesAfterContentLengthZeroAreTheNextRequest) {
    recorded s;
    {
        // A well-formed second request: two answers, two forwarded requests.
        raw_client c(s.gate.port);
        c.send(
            "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
            "GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
        EXPECT_EQ(c.read_response().status, 200u);
        EXPECT_EQ(c.read_response().status, 200u);
        auto reqs = s.up.requests();
        ASSERT_EQ(reqs.size(), 2u);
        EXPECT_EQ(body_of(reqs[0]), "");
        EXPECT_EQ(header_of(reqs[0], "Content-Length"), "0");
        EXPECT_EQ(request_line_of(reqs[1]), "GET /second HTTP/1.1");
    }
    struct attempt {
        std::string name, second;
        unsigned status;
    };
    for (const auto& a : std::vector<attempt>{
             {"smuggled double Host", "GET /admin HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
             {"smuggled CL.TE",
              "POST /admin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: "
              "chunked\r\n\r\n0\r\n\r\n",
              400},
             {"body bytes as a head", "hello world\r\n\r\n", 400},
             {"smuggled CONNECT", "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n",
              405},
             {"smuggled oversized line", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n",
              414}}) {
        std::size_t before = s.up.requests().size();
        raw_client c(s.gate.port);
        c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" + a.second);
        EXPECT_EQ(c.read_response().status, 200u) << a.name;
        EXPECT_EQ(c.read_response().status, a.status) << a.name;
        EXPECT_TRUE(c.closed_by_peer(5s)) << a.name;
        auto reqs = s.up.requests();
        ASSERT_EQ(reqs.size(), before + 1) << a.name << ": only the first request is forwarded";
        EXPECT_EQ(request_line_of(reqs.back()), "POST /upload HTTP/1.1");
    }
    {
        // On a translated route: an empty JSON body is refused (400), and the JSON that followed
        // is not read as its body but as a (malformed) next request head.
        std::size_t before = s.up.requests().size();
        raw_client c(s.gate.port);
        c.send(
            "PUT /api/user HTTP/1.1\r\nHost: x\r\nAuthorization: Token demo-token\r\n"
            "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n" +
            seed_body + "\r\n\r\n");
        EXPECT_EQ(c.read_response().status, 400u);
        auto second = c.read_response();
        EXPECT_TRUE(second.status == 400u || second.status == 0u) << second.status;
        EXPECT_TRUE(c.closed_by_peer(5s));
        EXPECT_EQ(s.up.requests().size(), before);
    }
}

// ---------------------------------------------------------------------------------------------
// slowloris

// Trickles a never-ending head one byte every 100 ms (the attack's pace, far below any per-read
// timeout) until the shim closes; the seconds from the first byte to the close, or -1.
double trickle_until_closed(raw_client& c, std::string_view start_bytes, int max_bytes) {
    auto start = clock_type::now();
    boost::system::error_code ec;
    boost::asio::write(c.socket(), boost::asio::buffer(start_bytes), ec);
    std::string pad = "X-Slow: ";
    for (int i = 0; i < max_bytes && !ec; ++i) {
        char b = pad[static_cast<std::size_t>(i) % pad.size()];
        if (i % 40 == 39) b = '\n';  // occasionally end a line: "\r\n" then a new field
        std::string piece = b == '\n' ? "\r\n" : std::string(1, b);
        boost::asio::write(c.socket(), boost::asio::buffer(piece), ec);
        pollfd p{c.socket().native_handle(), POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) break;  // readable: an answer, EOF or a reset
    }
    if (!c.closed_by_peer(3s)) return -1;
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

TEST_F(Hostile, SlowlorisHitsTheHeadDeadline) {
    recorded s({"--header-timeout", "1"});
    {
        raw_client c(s.gate.port);
        double took = trickle_until_closed(c, "G", 80);  // at most ~8 s of trickling
        ASSERT_GE(took, 0) << "the shim never closed a head trickled for 8 s";
        EXPECT_GE(took, 0.9);  // not before the deadline
        EXPECT_LT(took, 3.0);  // within ~2 s of it
    }
    {
        // The deadline runs per request from its first byte, also on a kept-alive connection.
        raw_client c(s.gate.port);
        c.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
        ASSERT_EQ(c.read_response().status, 200u);
        double took = trickle_until_closed(c, "GET /second HTTP/1.1\r\nHost: x\r\n", 80);
        ASSERT_GE(took, 0) << "the second head was never cut off";
        EXPECT_GE(took, 0.9);
        EXPECT_LT(took, 3.0);
    }
    {
        // Leading empty lines count as the first bytes of the head.
        raw_client c(s.gate.port);
        double took = trickle_until_closed(c, "\r\n", 80);
        ASSERT_GE(took, 0);
        EXPECT_LT(took, 3.0);
    }
    EXPECT_EQ(s.up.requests().size(), 1u);  // only /first
}

// ---------------------------------------------------------------------------------------------
// a client that never reads

TEST_F(Hostile, ClientThatNeverReadsALargeDownloadDoesNotGrowMemoryAndIsClosed) {
    backend up;
    shim gate(up.port, {"--idle-timeout", "1", "--admin", "127.0.0.1:0", "--threads", "1"});
    ASSERT_NE(gate.admin_port, 0);
    const int pid = gate.proc.pid();
    long fds_before = fd_count(pid);
    posix_client c(gate.port, 64 * 1024);
    ASSERT_TRUE(c.ok());
    const std::uint64_t size = 104857600;  // 100 MiB
    ASSERT_TRUE(c.send_all("GET /bytes/" + std::to_string(size) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    // 2 s of not reading, sampling the shim's resident set all along.
    long max_rss = 0;
    auto until = clock_type::now() + 2s;
    wait_until(
        [&] {
            max_rss = std::max(max_rss, rss_kib(pid));
            return clock_type::now() > until;
        },
        3s);
    std::cout << "shimgate VmRSS max while the client does not read: " << max_rss << " KiB\n";
    if (rss_is_meaningful) {
        EXPECT_LT(max_rss, 64 * 1024) << "KiB";
    }
    // The stalled write times out (--idle-timeout 1): the connection and its upstream go away.
    EXPECT_TRUE(
        // Bounded generously: the shim first answers every request it had already buffered, which
        // takes seconds under ThreadSanitizer on a loaded machine.
        wait_until([&] { return metric(gate.admin_port, "shimgate_open_connections") == 0; }, 40s))
        << "the never-reading connection was not closed by the write timeout";
    EXPECT_TRUE(wait_until([&] { return fd_count(pid) <= fds_before + 1; }, 5s))
        << fd_count(pid) << " fds, " << fds_before << " before";
    // What the client can still read ends well before the whole 100 MiB.
    std::uint64_t total = 0;
    char buf[1 << 16];
    for (int i = 0; i < 100000; ++i) {
        pollfd p{c.fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) break;
        auto n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        total += static_cast<std::uint64_t>(n);
    }
    EXPECT_LT(total, size) << "the whole answer was delivered: the connection was never cut";
    if (rss_is_meaningful) {
        EXPECT_LT(rss_kib(pid), 64 * 1024);
    }
    EXPECT_EQ(request(gate.port, "GET", "/echo/still-serving").status, 200u);
}

// ---------------------------------------------------------------------------------------------
// connection churn

TEST_F(Hostile, TenThousandConnectionsOpenedAndDroppedLeaveNoTrace) {
    backend up;
    shim gate(up.port, {"--admin", "127.0.0.1:0"});
    const int pid = gate.proc.pid();
    // Warm up (pool connections, buffers), then take the baseline.
    for (int i = 0; i < 20; ++i) ASSERT_EQ(request(gate.port, "GET", "/echo/warm").status, 200u);
    long fds_before = fd_count(pid);
    long rss_before = rss_kib(pid);

    // Opens `total` connections in batches of 500 held open together, each dropped in one of four
    // ways; false (with a failure) if a connect fails or the round takes over 30 s.
    auto churn = [&](int total) {
        const int batch = 500;
        auto start = clock_type::now();
        int opened = 0;
        for (int b = 0; b < total / batch; ++b) {
            if (clock_type::now() - start > 30s) {
                ADD_FAILURE() << "churn too slow: " << opened << " opened in 30 s";
                return false;
            }
            std::vector<std::unique_ptr<posix_client>> conns;
            conns.reserve(batch);
            for (int i = 0; i < batch; ++i) {
                auto c = std::make_unique<posix_client>(gate.port);
                if (!c->ok()) {
                    ADD_FAILURE() << "connect failed after " << opened;
                    return false;
                }
                ++opened;
                switch ((b * batch + i) % 4) {
                    case 0:
                        break;  // connect and close
                    case 1:
                        c->send_all("GET /echo/partial HTTP/1.1\r\nHo");
                        break;  // half a head
                    case 2:     // a whole request, then gone without reading (reset)
                        c->send_all("GET /echo/gone HTTP/1.1\r\nHost: x\r\n\r\n");
                        c->reset_on_close();
                        break;
                    case 3:
                        c->reset_on_close();
                        break;  // connect and reset
                }
                conns.push_back(std::move(c));
            }
            conns.clear();  // drop the whole batch
        }
        std::cout << opened << " connections opened and dropped in "
                  << std::chrono::duration<double>(clock_type::now() - start).count() << " s\n";
        return true;
    };
    // fds the shim holds beyond its idle upstream pool (which keeps up to 256 connections per
    // worker for 30 s after a burst of forwarded requests: by design, not a leak).
    auto own_fds = [&] {
        return fd_count(pid) - static_cast<long>(metric(gate.admin_port,
                                                        "shimgate_upstream_pool_idle_connections"));
    };
    const long own_before = own_fds();
    auto settled = [&] {
        EXPECT_TRUE(wait_until([&] { return own_fds() <= own_before + 4; }, 10s))
            << own_fds() << " fds besides the pool, " << own_before << " before";
        EXPECT_TRUE(wait_until(
            [&] { return metric(gate.admin_port, "shimgate_open_connections") == 0; }, 10s));
        EXPECT_EQ(request(gate.port, "GET", "/echo/after-churn").status, 200u);
    };

    ASSERT_TRUE(churn(10000));
    settled();
    long rss_first = rss_kib(pid);
    std::cout << "first round: shimgate VmRSS " << rss_before << " -> " << rss_first << " KiB, fds "
              << fds_before << " -> " << fd_count(pid) << " (pool idle "
              << metric(gate.admin_port, "shimgate_upstream_pool_idle_connections") << ")\n";
    // Up to 500 connections are open together, those that sent a request each with a 16 KiB read
    // buffer and a 64 KiB relay buffer: the allocator keeps that high-water mark after they are
    // gone (15-31 MiB measured, depending on how many were in flight at once). So the first
    // round is the warm-up, with a loose bound ...
    if (rss_is_meaningful) {
        EXPECT_LT(rss_first - rss_before, 64 * 1024) << "KiB of growth in the first round";
    }
    // ... and two more rounds (20,000 connections) must not add more than ~20 MiB to it: the
    // high-water mark varies by a few MiB with how many were in flight at once (up to 8 MiB
    // measured), a leak of 1 KiB per connection would add 20 MiB.
    for (int round = 2; round <= 3; ++round) {
        ASSERT_TRUE(churn(10000));
        settled();
    }
    long rss_last = rss_kib(pid);
    std::cout << "after 30,000: VmRSS " << rss_first << " -> " << rss_last << " KiB, fds "
              << fd_count(pid) << "\n";
    if (rss_is_meaningful) {
        EXPECT_LT(rss_last - rss_first, 20 * 1024) << "KiB of growth over rounds 2 and 3";
    }
    EXPECT_TRUE(alive(gate.proc));
}

// ---------------------------------------------------------------------------------------------
// pipelined floods

TEST_F(Hostile, ThousandPipelinedRequestsInOneWriteAreAnsweredInOrder) {
    backend up;
    shim gate(up.port);
    std::string all;
    for (int i = 0; i < 1000; ++i)
        all += "GET /echo/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    raw_client c(gate.port);
    auto start = clock_type::now();
    c.send(all);  // ~36 KB: fits the socket buffers, so one blocking write cannot deadlock
    int answered = 0;
    for (int i = 0; i < 1000; ++i) {
        auto r = c.read_response();
        if (r.status != 200u || !r.complete) {
            ADD_FAILURE() << "answer " << i << ": status " << r.status;
            break;
        }
        if (r.body.find("\"target\":\"/echo/" + std::to_string(i) + "\"") == std::string::npos) {
            ADD_FAILURE() << "answer " << i << " out of order: " << r.body.substr(0, 120);
            break;
        }
        ++answered;
        ASSERT_LT(clock_type::now() - start, 60s);
    }
    EXPECT_EQ(answered, 1000);
    std::cout << "1000 pipelined requests answered in "
              << std::chrono::duration<double>(clock_type::now() - start).count() << " s\n";
}

TEST_F(Hostile, PipelinedFloodFromAClientThatNeverReadsIsBounded) {
    backend up;
    shim gate(up.port, {"--idle-timeout", "1", "--admin", "127.0.0.1:0", "--threads", "1"});
    const int pid = gate.proc.pid();
    long rss_before = rss_kib(pid);
    posix_client c(gate.port, 64 * 1024);
    ASSERT_TRUE(c.ok());
    ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    std::string block;
    for (int i = 0; i < 1000; ++i) block += "GET /echo/flood HTTP/1.1\r\nHost: x\r\n\r\n";

    // Write as fast as the shim takes it, never reading, for at most 15 s or 256 MiB.
    const std::uint64_t cap = 256ull << 20;
    std::uint64_t written = 0;
    long max_rss = 0;
    bool cut = false;
    auto start = clock_type::now();
    std::size_t off = 0;
    while (written < cap && clock_type::now() - start < 15s) {
        auto n = ::send(c.fd, block.data() + off, block.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
            written += static_cast<std::uint64_t>(n);
            off = (off + static_cast<std::size_t>(n)) % block.size();
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            cut = true;  // EPIPE / ECONNRESET: the shim closed the connection
            break;
        }
        max_rss = std::max(max_rss, rss_kib(pid));
        pollfd p{c.fd, POLLOUT, 0};
        ::poll(&p, 1, 100);
        if (p.revents & (POLLERR | POLLHUP)) {
            cut = true;
            break;
        }
    }
    max_rss = std::max(max_rss, rss_kib(pid));
    auto took = std::chrono::duration<double>(clock_type::now() - start).count();
    std::cout << "never-reading pipelined flood: " << (written >> 10) << " KiB written in " << took
              << " s; shimgate VmRSS " << rss_before << " -> max " << max_rss << " KiB\n";
    // The shim stops reading once it cannot write (back-pressure), then its write deadline ends
    // the connection; it never buffers the flood.
    EXPECT_LT(written, 64ull << 20) << "the shim kept reading a client that never reads";
    if (rss_is_meaningful) {
        EXPECT_LT(max_rss - rss_before, 32 * 1024) << "KiB of growth";
    }
    EXPECT_TRUE(
        cut ||
        // Bounded generously: the shim first answers every request it had already buffered, which
        // takes seconds under ThreadSanitizer on a loaded machine.
        wait_until([&] { return metric(gate.admin_port, "shimgate_open_connections") == 0; }, 40s))
        << "the flooding connection was never closed";
    EXPECT_EQ(request(gate.port, "GET", "/echo/still-serving").status, 200u);
}

// ---------------------------------------------------------------------------------------------
// bodies cut short

TEST_F(Hostile, BodiesCutShortAreNeverForwardedComplete) {
    recorded s;
    const std::string auth =
        "Authorization: Token demo-token\r\nContent-Type: application/json\r\n";
    struct attempt {
        std::string name, bytes;
        bool connects;  // whether the shim may open an upstream connection (streamed bodies)
    };
    for (const auto& a : std::vector<attempt>{
             {"pass-through CL 100, 10 sent",
              "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789", false},
             {"pass-through streamed CL 200000, 70000 sent",
              "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" +
                  std::string(70000, 'b'),
              true},
             {"pass-through chunked without its last chunk",
              "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
              "chunked\r\n\r\n5\r\nhello\r\n",
              true},
             {"pass-through chunk cut inside its data",
              "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n64\r\nhello",
              true},
             {"Mintlify CL 100, 10 sent",
              "PUT /api/user HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 100\r\n\r\n" +
                  seed_body.substr(0, 10),
              false},
             {"Explo chunked cut short",
              "POST /api/update_user_group/ HTTP/1.1\r\nHost: x\r\nExplo-Authorization: Token "
              "demo-token\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
              "a\r\n" +
                  seed_body.substr(0, 10) + "\r\n",
              false},
             {"StateSet CL whole minus one",
              "PUT /v1/users/example_1 HTTP/1.1\r\nHost: x\r\n" + auth +
                  "Content-Length: " + std::to_string(seed_body.size()) + "\r\n\r\n" +
                  seed_body.substr(0, seed_body.size() - 1),
              false}}) {
        std::size_t connections_before = s.up.connections();
        {
            // Close right after the bytes.
            posix_client c(s.gate.port);
            ASSERT_TRUE(c.ok());
            ASSERT_TRUE(c.send_all(a.bytes));
        }
        {
            // Half-close instead: the shim says why (400) and forwards nothing.
            raw_client c(s.gate.port);
            c.send(a.bytes);
            c.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send);
            auto r = c.read_response();
            EXPECT_TRUE(r.status == 400u || r.status == 0u) << a.name << ": " << r.status;
            EXPECT_TRUE(c.closed_by_peer(5s)) << a.name;
        }
        // The shim is still serving (this also orders the check after both attempts).
        EXPECT_EQ(request(s.gate.port, "GET", "/probe").status, 200u) << a.name;
        if (!a.connects) {
            // probe's own connection at most (pooled: none)
            EXPECT_LE(s.up.connections() - connections_before, 1u) << a.name;
        }
    }
    std::size_t complete_non_probe = 0;
    for (const auto& r : s.up.requests())
        if (request_line_of(r) != "GET /probe HTTP/1.1") {
            ++complete_non_probe;
            ADD_FAILURE() << "forwarded: " << r.substr(0, 200);
        }
    EXPECT_EQ(complete_non_probe, 0u);
    EXPECT_TRUE(alive(s.gate.proc));
}

}  // namespace
}  // namespace shimgate::testing
