// The admin listener over a real loopback socket, with a fake `collect`: health, readiness
// (ready, not ready, upstream down), metrics, migration as JSON and HTML, 404/405, keep-alive.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "json/json_validate.hpp"
#include "observe/admin.hpp"

namespace shimgate {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct reply {
    unsigned status = 0;
    std::string content_type;
    std::string allow;
    std::string connection;
    std::string body;
};

reply read_reply(tcp::socket& socket, beast::flat_buffer& buffer, bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);  // an answer to HEAD has no body, whatever its Content-Length says
    boost::system::error_code ec;
    http::read(socket, buffer, parser, ec);
    if (ec) return {};
    const auto& res = parser.get();
    reply r;
    r.status = res.result_int();
    r.content_type = std::string(res[http::field::content_type]);
    r.allow = std::string(res[http::field::allow]);
    r.connection = std::string(res[http::field::connection]);
    r.body = res.body();
    return r;
}

reply request(unsigned short port, http::verb method, const std::string& target,
              const std::string& accept = {}) {
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    http::request<http::empty_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!accept.empty()) req.set(http::field::accept, accept);
    req.keep_alive(false);
    http::write(socket, req);
    beast::flat_buffer buffer;
    return read_reply(socket, buffer, method == http::verb::head);
}

reply get(unsigned short port, const std::string& target, const std::string& accept = {}) {
    return request(port, http::verb::get, target, accept);
}

// A port on which nothing listens: bound, then closed.
tcp::endpoint closed_endpoint() {
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    auto ep = a.local_endpoint();
    a.close();
    return ep;
}

class Admin : public ::testing::Test {
  protected:
    void SetUp() override {
        // The upstream: a listening socket; the kernel completes connects into its backlog.
        upstream_.emplace(upstream_ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    }

    void start(std::vector<tcp::endpoint> upstream) {
        admin_sources sources;
        sources.ready = [this] { return ready_.load(); };
        sources.require_upstream = require_upstream_;
        std::atomic<int>* calls = &collect_calls_;
        sources.collect = [calls]() -> net::awaitable<metrics_snapshot> {
            ++*calls;
            metrics_snapshot snap;
            snap.version = "0.1.0";
            snap.simdjson_kernel = "haswell";
            snap.process.ready = true;
            snap.requests.count_request("explo_update", "explo", 200);
            co_return snap;
        };
        // The page itself is rendered by observe/migration_page (its own tests); here, which
        // form is asked for.
        sources.migration = [](bool json) -> net::awaitable<std::string> {
            co_return json ? std::string("{\"routes\":[]}\n") : std::string("<!DOCTYPE html>page");
        };
        std::string error;
        server_ =
            admin_server::start("127.0.0.1:0", std::move(upstream), std::move(sources), error);
        ASSERT_TRUE(server_) << error;
        ASSERT_TRUE(error.empty());
        ASSERT_NE(server_->port(), 0);
    }
    void start() { start({upstream_->local_endpoint()}); }

    unsigned short port() const { return server_->port(); }

    net::io_context upstream_ioc_;
    std::optional<tcp::acceptor> upstream_;
    std::atomic<bool> ready_{true};
    bool require_upstream_ = false;  // --ready-requires-upstream
    std::atomic<int> collect_calls_{0};
    std::unique_ptr<admin_server> server_;
};

TEST_F(Admin, Healthz) {
    start();
    auto r = get(port(), "/healthz");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "ok\n");
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
    EXPECT_EQ(collect_calls_.load(), 0);
}

TEST_F(Admin, ReadyzWhenReadyAndUpstreamReachable) {
    start();
    auto r = get(port(), "/readyz");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "ready\n");
}

TEST_F(Admin, ReadyzNotReady) {
    start();
    ready_ = false;
    auto r = get(port(), "/readyz");
    EXPECT_EQ(r.status, 503u);
    EXPECT_EQ(r.body, "not ready: rules not loaded or draining\n");
}

TEST_F(Admin, ReadyzUpstreamDown) {
    const auto down = closed_endpoint();
    require_upstream_ = true;
    start({down});
    auto r = get(port(), "/readyz");
    EXPECT_EQ(r.status, 503u);
    EXPECT_TRUE(r.body.starts_with("not ready: upstream 127.0.0.1:" + std::to_string(down.port()) +
                                   " unreachable: "))
        << r.body;
    EXPECT_EQ(r.body.find('\n'), r.body.size() - 1);  // one line
}

TEST_F(Admin, ReadyzTriesEveryUpstreamAddress) {
    require_upstream_ = true;
    start({closed_endpoint(), upstream_->local_endpoint()});
    EXPECT_EQ(get(port(), "/readyz").status, 200u);
}

// shimgate_ready in the metrics page, as a number, or -1.
int ready_gauge(const std::string& page) {
    const auto at = page.find("\nshimgate_ready ");
    return at == std::string::npos ? -1 : page[at + 16] - '0';
}

// By default readiness does not follow the upstream (a brief outage would take every replica out
// of its balancer at once); shimgate_ready is the same answer as /readyz either way.
TEST_F(Admin, ReadyzIgnoresTheUpstreamUnlessRequired) {
    start({closed_endpoint()});
    EXPECT_EQ(get(port(), "/readyz").status, 200u);
    EXPECT_EQ(ready_gauge(get(port(), "/metrics").body), 1);
    ready_ = false;
    EXPECT_EQ(get(port(), "/readyz").status, 503u);
    EXPECT_EQ(ready_gauge(get(port(), "/metrics").body), 0);
}

TEST_F(Admin, ReadyGaugeFollowsTheUpstreamProbeWhenRequired) {
    require_upstream_ = true;
    start({closed_endpoint()});  // the fixture's collect says ready = true
    EXPECT_EQ(get(port(), "/readyz").status, 503u);
    EXPECT_EQ(ready_gauge(get(port(), "/metrics").body), 0);
}

// Idle connections up to the cap do not keep the probes out: the oldest idle ones are closed.
TEST_F(Admin, AnswersWhileIdleConnectionsFillTheCap) {
    start();
    net::io_context ioc;
    const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port());
    std::vector<std::unique_ptr<tcp::socket>> idle;
    for (int i = 0; i < 64; ++i) {
        idle.push_back(std::make_unique<tcp::socket>(ioc));
        idle.back()->connect(ep);
    }
    EXPECT_EQ(get(port(), "/healthz").status, 200u);
    EXPECT_EQ(get(port(), "/readyz").status, 200u);
    boost::system::error_code ec;
    char byte;
    idle.front()->read_some(net::buffer(&byte, 1), ec);  // the oldest was closed to make room
    EXPECT_EQ(ec, net::error::eof);
}

TEST_F(Admin, Metrics) {
    start();
    auto r = get(port(), "/metrics");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_TRUE(r.body.starts_with("# HELP shimgate_requests_total "));
    EXPECT_NE(
        r.body.find(
            "shimgate_requests_total{rule=\"explo_update\",dialect=\"explo\",status=\"200\"} 1\n"),
        std::string::npos);
    EXPECT_NE(r.body.find("shimgate_build_info{version=\"0.1.0\",simdjson_kernel=\"haswell\"} 1\n"),
              std::string::npos);
    EXPECT_EQ(collect_calls_.load(), 1);
}

TEST_F(Admin, MigrationHtmlByDefault) {
    start();
    for (const std::string accept : {"", "*/*", "text/html,application/xhtml+xml,*/*;q=0.8"}) {
        auto r = get(port(), "/migration", accept);
        EXPECT_EQ(r.status, 200u);
        EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
        EXPECT_EQ(r.body, "<!DOCTYPE html>page");
    }
    EXPECT_EQ(get(port(), "/migration?format=html", "application/json").content_type,
              "text/html; charset=utf-8");
}

TEST_F(Admin, MigrationJsonByQueryOrAccept) {
    start();
    for (const auto& [target, accept] :
         {std::pair<std::string, std::string>{"/migration?format=json", ""},
          {"/migration?x=1&format=json", "text/html"},
          {"/migration", "application/json"},
          {"/migration", "Application/JSON; q=1"}}) {
        auto r = get(port(), target, accept);
        EXPECT_EQ(r.status, 200u) << target;
        EXPECT_EQ(r.content_type, "application/json") << target << " " << accept;
        EXPECT_EQ(r.body, "{\"routes\":[]}\n");
    }
}

TEST_F(Admin, UnknownPathIs404ProblemJson) {
    start();
    for (const std::string target : {"/", "/metricsx", "/healthz/", "/admin"}) {
        auto r = get(port(), target);
        EXPECT_EQ(r.status, 404u) << target;
        EXPECT_EQ(r.content_type, "application/problem+json");
        EXPECT_TRUE(
            r.body.starts_with(R"({"type":"about:blank","title":"Not Found","status":404,)"))
            << r.body;
    }
}

TEST_F(Admin, NonGetIs405) {
    start();
    for (auto method : {http::verb::post, http::verb::head, http::verb::delete_, http::verb::put}) {
        auto r = request(port(), method, "/metrics");
        EXPECT_EQ(r.status, 405u);
        EXPECT_EQ(r.allow, "GET");
        if (method == http::verb::head)
            EXPECT_EQ(r.body, "");
        else
            EXPECT_NE(r.body.find("\"status\":405"), std::string::npos) << r.body;
    }
    EXPECT_EQ(collect_calls_.load(), 0);
}

TEST_F(Admin, KeepAliveServesSeveralRequests) {
    start();
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port()));
    beast::flat_buffer buffer;
    for (const char* target : {"/healthz", "/metrics", "/nope", "/readyz"}) {
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "x");
        http::write(socket, req);
        auto r = read_reply(socket, buffer);
        EXPECT_NE(r.status, 0u) << target;
        EXPECT_NE(r.connection, "close");
    }
}

TEST_F(Admin, RefusesBodiesAndHugeHeads) {
    start();
    net::io_context ioc;
    {
        tcp::socket socket(ioc);
        socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port()));
        const std::string raw =
            "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        net::write(socket, net::buffer(raw));
        beast::flat_buffer buffer;
        EXPECT_EQ(read_reply(socket, buffer).status, 413u);
    }
    {
        tcp::socket socket(ioc);
        socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port()));
        const std::string raw =
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n";
        boost::system::error_code ec;
        net::write(socket, net::buffer(raw), ec);
        beast::flat_buffer buffer;
        EXPECT_EQ(read_reply(socket, buffer).status, 431u);
    }
    {
        tcp::socket socket(ioc);
        socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port()));
        const std::string raw = "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n";
        net::write(socket, net::buffer(raw));
        beast::flat_buffer buffer;
        EXPECT_EQ(read_reply(socket, buffer).status, 400u);
    }
}

TEST_F(Admin, StopsAndRefusesBadAddresses) {
    start();
    const auto p = port();
    server_->stop();
    server_->stop();  // idempotent
    net::io_context ioc;
    tcp::socket socket(ioc);
    boost::system::error_code ec;
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), p), ec);
    EXPECT_TRUE(ec);

    std::string error;
    EXPECT_FALSE(admin_server::start("nonsense", {}, admin_sources{}, error));
    EXPECT_TRUE(error.starts_with("--admin: ")) << error;
    error.clear();
    // A port already taken.
    tcp::acceptor taken(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    EXPECT_FALSE(admin_server::start("127.0.0.1:" + std::to_string(taken.local_endpoint().port()),
                                     {}, admin_sources{}, error));
    EXPECT_TRUE(error.starts_with("--admin: cannot listen on 127.0.0.1:")) << error;
}

TEST_F(Admin, DestroyedWithOpenConnectionsAndAPendingCollect) {
    admin_sources sources;
    // A collect that never completes: its frame is destroyed with the admin io_context.
    sources.collect = []() -> net::awaitable<metrics_snapshot> {
        auto executor = co_await net::this_coro::executor;
        net::steady_timer forever(executor, std::chrono::hours(1));
        co_await forever.async_wait(net::use_awaitable);
        co_return metrics_snapshot{};
    };
    std::string error;
    auto s = admin_server::start("127.0.0.1:0", {}, std::move(sources), error);
    ASSERT_TRUE(s) << error;
    net::io_context ioc;
    tcp::socket idle(ioc), partial(ioc), waiting(ioc);
    const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), s->port());
    idle.connect(ep);
    partial.connect(ep);
    net::write(partial, net::buffer(std::string_view("GET /metr")));
    waiting.connect(ep);
    net::write(waiting, net::buffer(std::string_view("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")));
    EXPECT_EQ(get(s->port(), "/healthz").status, 200u);  // the others are in flight by now
    s.reset();
    boost::system::error_code ec;
    char byte;
    waiting.read_some(net::buffer(&byte, 1), ec);
    EXPECT_TRUE(ec);  // closed without an answer
}

TEST_F(Admin, NoSourcesStillAnswers) {
    std::string error;
    auto s =
        admin_server::start("127.0.0.1:0", {upstream_->local_endpoint()}, admin_sources{}, error);
    ASSERT_TRUE(s) << error;
    EXPECT_EQ(get(s->port(), "/readyz").status, 200u);
    EXPECT_EQ(get(s->port(), "/metrics").status, 200u);
    EXPECT_EQ(get(s->port(), "/migration").status, 404u);  // no ledger behind it
}

}  // namespace
}  // namespace shimgate
