// The piecewise relay really hands answers over in pieces (so the dialect and pass-through suites'
// piece modes cannot quietly become whole writes), and every framing of an upstream answer
// reaches the client the same whether it came whole or in 1- and 5-byte pieces.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "fake_upstream.hpp"
#include "harness.hpp"
#include "piecewise_relay.hpp"

namespace shimgate::testing {
namespace {

struct PiecewiseRelay : ::testing::TestWithParam<std::size_t> {};
INSTANTIATE_TEST_SUITE_P(Answers, PiecewiseRelay, ::testing::Values(std::size_t{1}, std::size_t{5}),
                         piece_mode_name);

TEST_P(PiecewiseRelay, AHundredByteAnswerGoesInOneSendPerPieceEachReadAlone) {
    const std::size_t piece = GetParam();
    std::string answer = fake_upstream::answer(200, "", "text/plain");
    answer = fake_upstream::answer(200, std::string(100 - answer.size() - 1, 'a'), "text/plain");
    ASSERT_EQ(answer.size(), 100u) << answer;
    fake_upstream up([&](const std::string&) { return answer; });
    piecewise_relay front(up.port(), piece);
    shim gate(front.port());
    auto r = request(gate.port, "GET", "/anything");
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, answer.substr(answer.find("\r\n\r\n") + 4));
    EXPECT_EQ(front.bytes(), 100u);
    EXPECT_GE(front.sends(), 100u / piece);
    // Each piece was in shimgate's hands before the next was sent: one read per piece.
    front.settle();
    EXPECT_EQ(front.pieces_read_alone(), front.sends());
}

// Each framing the upstream may answer in, whole and in pieces: what the client gets must not
// depend on how the bytes were cut.
struct PiecedAnswers : ::testing::TestWithParam<std::size_t> {};
INSTANTIATE_TEST_SUITE_P(Answers, PiecedAnswers, every_piece_mode(), piece_mode_name);

std::string framed_answer(const std::string& request) {
    std::string target = request_line_of(request);
    target = target.substr(target.find(' ') + 1);
    target = target.substr(0, target.find(' '));
    if (target == "/length")
        return fake_upstream::answer(200, "0123456789abcdef", "text/plain", "X-Header: one\r\n");
    if (target == "/chunked")  // chunk extensions and a trailer section
        return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n";
    if (target == "/interim")  // two 1xx before the final answer
        return "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" +
               fake_upstream::answer(200, "final", "text/plain");
    if (target == "/no-content") return "HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n";
    if (target == "/not-modified") return "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\n\r\n";
    if (target == "/head")  // the answer to HEAD: a length, no body
        return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\n\r\n";
    if (target == "/empty") return fake_upstream::answer(200, "", "text/plain");
    return fake_upstream::answer(404, "no such case", "text/plain");
}

TEST_P(PiecedAnswers, EveryFramingReachesTheClientTheSame) {
    fake_upstream up(framed_answer);
    piecewise_relay front(up.port(), GetParam());
    shim gate(front.port());
    struct expectation {
        std::string method, target;
        unsigned status;
        std::string body;
    };
    const std::vector<expectation> cases{
        {"GET", "/length", 200, "0123456789abcdef"},
        {"GET", "/chunked", 200, "helloabcdefghijklmnopqrstuvwxyz"},
        {"GET", "/interim", 200, "final"},
        {"GET", "/no-content", 204, ""},
        {"GET", "/not-modified", 304, ""},
        {"HEAD", "/head", 200, ""},
        {"GET", "/empty", 200, ""},
    };
    // All on one client connection (and so one pooled upstream connection): a piece left over
    // from one answer would spoil the next.
    raw_client c(gate.port);
    for (int round = 0; round < 2; ++round) {
        for (const auto& e : cases) {
            c.send(e.method + " " + e.target + " HTTP/1.1\r\nHost: x\r\n\r\n");
            auto r = c.read_response(e.method == "HEAD");
            EXPECT_EQ(r.status, e.status) << e.target << "\n" << r.head;
            EXPECT_TRUE(r.complete) << e.target;
            EXPECT_EQ(r.body, e.body) << e.target;
            if (e.target == "/length") {
                EXPECT_EQ(header_of(r.head, "X-Header"), "one");
            }
            if (e.target == "/head") {
                EXPECT_EQ(header_of(r.head, "Content-Length"), "1234");
            }
        }
    }
    EXPECT_EQ(up.connections(), 1u) << "every answer left the upstream connection reusable";
    front.settle();
    EXPECT_EQ(front.pieces_read_alone(), front.sends());
}

// An answer that ends where the upstream closes: the last piece is followed by the relay's FIN.
TEST_P(PiecedAnswers, CloseDelimitedAnswerIsRelayedWhole) {
    fake_upstream up(
        [](const std::string&) {
            return std::string("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
        },
        /*close_after_reply=*/true);
    piecewise_relay front(up.port(), GetParam());
    shim gate(front.port());
    for (int i = 0; i < 2; ++i) {  // and the next request gets a new upstream connection
        auto r = request(gate.port, "GET", "/close");
        EXPECT_EQ(r.status, 200u) << r.head;
        EXPECT_TRUE(r.complete);
        EXPECT_EQ(r.body, "until the end");
    }
    EXPECT_EQ(up.connections(), 2u);
}

// The translate flow reads the whole answer before rewriting it: the same framings, through a
// dialect route, give the same envelope in every mode.
TEST_P(PiecedAnswers, DialectAnswersInEveryFramingGiveTheSameEnvelope) {
    const std::string customer =
        R"({"success":1,"customer":{"customer_id":"c1","team_id":113,"token":"t","name":"N",)"
        R"("api_environment_tag":"Customer","is_demo_group":false,"password_hash":"x"}})";
    const std::string expected =
        R"({"success":1,"user_group":{"team_id":113,"token":"t","name":"N","provided_id":"c1",)"
        R"("api_environment_tag":"Customer"}})";
    std::string chunked =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::size_t at = 0; at < customer.size(); at += 7) {  // 7-byte chunks, hex sizes
        auto part = customer.substr(at, 7);
        chunked += std::to_string(part.size()) + ";x=y\r\n" + part + "\r\n";
    }
    chunked += "0\r\nX-Trailer: t\r\n\r\n";
    const std::vector<std::pair<std::string, std::string>> framings{
        {"length", fake_upstream::answer(200, customer)},
        {"chunked", chunked},
        {"interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
                        fake_upstream::answer(200, customer)},
    };
    std::string next;
    fake_upstream up([&](const std::string&) { return next; });
    piecewise_relay front(up.port(), GetParam());
    shim gate(front.port());
    for (const auto& [name, answer] : framings) {
        next = answer;
        auto r = request(gate.port, "PUT", "/api/user", R"({"user_group_id":"c1"})",
                         "Authorization: Token t\r\nContent-Type: application/json\r\n");
        EXPECT_EQ(r.status, 200u) << name << ": " << r.body;
        EXPECT_EQ(r.body, expected) << name;
        EXPECT_EQ(header_of(r.head, "Content-Length"), std::to_string(r.body.size())) << name;
    }
    front.settle();
    EXPECT_EQ(front.pieces_read_alone(), front.sends());
}

// A chunk goes to the client as soon as it arrived, not when the next chunk's size line does
// (a stream of events must not lag one event behind). The upstream here sends its answer in
// steps, each only once the client has what came before: the head with a whole chunk (parsed from
// what was buffered with the head), half a chunk, then its other half (read by the body read).
TEST(PiecewiseRelay, AChunkIsRelayedBeforeTheNextOneArrives) {
    const std::vector<std::pair<std::string, std::string>> steps{
        {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n",
         "hello"},
        {"6\r\n wo", "hello wo"},
        {"rld\r\n", "hello world"},
        {"0\r\n\r\n", ""},
    };
    unsigned short port = 0;
    const int listener = listen_on_loopback(port, "held-back upstream");
    std::vector<std::promise<void>> client_has(steps.size());
    std::thread upstream([&, fd = listener] {
        const int conn = ::accept(fd, nullptr, nullptr);
        std::string got;
        char buf[4096];
        while (got.find("\r\n\r\n") == std::string::npos) {
            const ssize_t n = ::recv(conn, buf, sizeof buf, 0);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        for (std::size_t i = 0; i < steps.size(); ++i) {
            (void)::send(conn, steps[i].first.data(), steps[i].first.size(), MSG_NOSIGNAL);
            // Bounded: a lagging shim fails the test below, not this wait.
            client_has[i].get_future().wait_for(std::chrono::seconds(10));
        }
        ::close(conn);
    });
    shim gate(port);
    raw_client c(gate.port);
    c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string seen, body;  // body: the chunk data seen so far, de-chunked
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const std::string& want = steps[i].second;
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!want.empty() && body.find(want) == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                give_up - std::chrono::steady_clock::now());
            pollfd p{c.socket().native_handle(), POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) break;
            char buf[4096];
            const ssize_t n = ::recv(p.fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            seen.append(buf, static_cast<std::size_t>(n));
            // The chunk data so far: every "size\r\ndata\r\n" after the head, in order.
            body.clear();
            std::size_t at = seen.find("\r\n\r\n");
            at = at == std::string::npos ? seen.size() : at + 4;
            while (at < seen.size()) {
                const std::size_t line_end = seen.find("\r\n", at);
                if (line_end == std::string::npos) break;
                const std::size_t size = std::stoul(seen.substr(at, line_end - at), nullptr, 16);
                body += seen.substr(line_end + 2, size);
                at = line_end + 2 + size + 2;
            }
        }
        if (!want.empty()) {
            EXPECT_NE(body.find(want), std::string::npos)
                << "step " << i << ": a chunk waited for the next:\n"
                << seen;
        }
        client_has[i].set_value();
    }
    upstream.join();
    ::close(listener);
}

}  // namespace
}  // namespace shimgate::testing
