// Request accounting: what a request is counted as, the upstream address as logged, and the
// access-log line built from a real head (User-Agent, Host, traceparent).
#include "observe/request_accounting.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/error.hpp>

#include "proxy/head_parser.hpp"

namespace shimgate {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::tcp;

TEST(RequestAccounting, UpstreamResetIsNeverCountedAsTheStatusItsHeadSaid) {
    request_facts f;
    f.status = 200;
    EXPECT_EQ(counted_status(f), 200u);
    f.error = request_error::upstream_reset;
    EXPECT_EQ(counted_status(f), 502u);
    EXPECT_EQ(to_string(f.error), "upstream_reset");
    EXPECT_EQ(to_string(request_error::none), "");
}

TEST(RequestAccounting, FormatsUpstreamEndpoints) {
    char buf[64];
    EXPECT_EQ(format_endpoint(tcp::endpoint{}, buf), "");
    EXPECT_EQ(format_endpoint({make_address("127.0.0.1"), 8080}, buf), "127.0.0.1:8080");
    EXPECT_EQ(format_endpoint({make_address("::1"), 443}, buf), "[::1]:443");
    EXPECT_EQ(
        format_endpoint({make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 65535}, buf),
        "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
    EXPECT_EQ(format_endpoint({make_address("::ffff:255.255.255.255"), 1}, buf),
              "[::ffff:255.255.255.255]:1");
}

struct parsed_head {
    std::string text;
    request_head head;
    std::optional<request_flat_parser> parser;
    explicit parsed_head(std::string t) : text(std::move(t)) {
        parser.emplace(head);
        parser->eager(false);
        boost::beast::error_code ec;
        parser->put_head(text, ec);
        EXPECT_FALSE(ec) << ec.message();
    }
};

std::string logged(const request_facts& f, const request_head* head, worker_metrics& m) {
    std::string lines;
    // A line is written only with a log: a real writer to /dev/null (nothing is submitted to it,
    // the line stays in the batch).
    std::string error;
    auto log = access_log::open("/dev/null", error);
    EXPECT_TRUE(log) << error;
    account_request(m, {log.get(), lines}, f, head, "127.0.0.1");
    return lines;
}

TEST(RequestAccounting, LineCarriesHeadFieldsUpstreamAndError) {
    parsed_head h(
        "GET /a?b HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: k6/0.50\r\n"
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n");
    request_facts f;
    f.status = 200;
    f.upstream_status = 200;
    f.upstream = tcp::endpoint(make_address("127.0.0.2"), 9999);
    f.error = request_error::upstream_reset;
    f.client_ip = "203.0.113.9";
    worker_metrics m;
    const std::string line = logged(f, &h.head, m);
    for (const char* part :
         {R"("peer":"127.0.0.1")", R"("client_ip":"203.0.113.9")", R"("host":"shop.example")",
          R"("user_agent":"k6/0.50")", R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736")",
          R"("upstream_addr":"127.0.0.2:9999")", R"("status":200)", R"("error":"upstream_reset")"})
        EXPECT_NE(line.find(part), std::string::npos) << part << " in " << line;
    // Counted as a 502 and as a reset, never as a 200.
    EXPECT_EQ(m.requests.size(), 1u);
    EXPECT_EQ(m.requests.begin()->first.status, 502u);
    EXPECT_EQ(m.upstream_resets, 1u);

    // Two traceparent fields: invalid, so no trace id; no upstream: null; client_ip: the peer.
    parsed_head two(
        "GET / HTTP/1.1\r\nHost: x\r\n"
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n");
    request_facts g;
    g.status = 404;
    const std::string second = logged(g, &two.head, m);
    for (const char* part : {R"("trace_id":null)", R"("upstream_addr":null)", R"("error":null)",
                             R"("user_agent":null)", R"("client_ip":"127.0.0.1")"})
        EXPECT_NE(second.find(part), std::string::npos) << part << " in " << second;
}

}  // namespace
}  // namespace shimgate
