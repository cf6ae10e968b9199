#include "proxy/forward_headers.hpp"

#include <gtest/gtest.h>

namespace shimgate {
namespace {

namespace http = boost::beast::http;

head_fields make(std::initializer_list<std::pair<const char*, const char*>> list) {
    head_fields f;
    for (auto [n, v] : list) f.add(n, v);
    return f;
}

TEST(ForwardHeaders, UpstreamHeadDropsHopByHopAndSetsForwarding) {
    auto in = make({{"Host", "shim.example:8080"},
                    {"Connection", "keep-alive, X-Secret"},
                    {"Keep-Alive", "timeout=5"},
                    {"X-Secret", "drop me"},
                    {"Upgrade", "websocket"},
                    {"TE", "trailers"},
                    {"Proxy-Authorization", "Basic x"},
                    {"X-Forwarded-For", "6.6.6.6"},
                    {"X-Forwarded-Proto", "https"},
                    {"X-Forwarded-Host", "evil"},
                    {"Via", "1.0 old"},
                    {"Content-Length", "999"},
                    {"Accept", "*/*"},
                    {"X-Keep", "yes"}});
    std::string out;
    write_upstream_head(out, "POST", "/p?q=1", in, {"10.1.2.3", "http", "up:9090"},
                        {body_framing::length, 5});
    EXPECT_EQ(out,
              "POST /p?q=1 HTTP/1.1\r\n"
              "Host: up:9090\r\n"
              "Accept: */*\r\n"
              "X-Keep: yes\r\n"
              "Via: 1.0 old, 1.1 shimgate\r\n"
              "X-Forwarded-For: 10.1.2.3\r\n"
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: shim.example:8080\r\n"
              "Content-Length: 5\r\n"
              "\r\n");
}

TEST(ForwardHeaders, UpstreamHeadChunkedAndExtraDropsAndAdds) {
    auto in =
        make({{"Host", "h"}, {"Explo-Authorization", "Token t"}, {"Content-Type", "text/plain"}});
    std::string out;
    std::array<std::string_view, 2> drop{"explo-authorization", "content-type"};
    std::array<header_pair, 1> add{header_pair{"Authorization", "Token t"}};
    write_upstream_head(out, "POST", "/x", in, {"::1", "http", "[::1]:1"},
                        {body_framing::chunked, 0}, drop, add);
    EXPECT_EQ(out,
              "POST /x HTTP/1.1\r\nHost: [::1]:1\r\nAuthorization: Token t\r\nVia: 1.1 shimgate\r\n"
              "X-Forwarded-For: ::1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n"
              "Transfer-Encoding: chunked\r\n\r\n");
}

TEST(ForwardHeaders, ClientHeadRefamesAndMarksConnection) {
    auto up = make({{"Content-Type", "text/plain"},
                    {"Transfer-Encoding", "chunked"},
                    {"Connection", "close"},
                    {"Set-Cookie", "a=b"}});
    std::string out;
    write_client_head(out, 200, "OK", &up, {body_framing::length, 12}, true, 11);
    EXPECT_EQ(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=b\r\nVia: 1.1 shimgate\r\n"
        "Content-Length: 12\r\n\r\n");
    out.clear();
    write_client_head(out, 404, "", nullptr, {body_framing::until_close, 0}, false, 10);
    EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
    out.clear();
    write_client_head(out, 200, "OK", nullptr, {body_framing::none, 0}, true, 10);
    EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n");
}

TEST(ForwardHeaders, NeverWritesCrOrLfFromValues) {
    std::string out;
    append_field(out, "X-A", "ok");
    append_field(out, "X-B", "bad\r\nInjected: 1");
    append_field(out, "X-C", std::string_view("nul\0", 4));
    EXPECT_EQ(out, "X-A: ok\r\n");
}

TEST(ForwardHeaders, LineBreakOrNulFoundAtEveryPositionAndLength) {
    // Every length up to past two SSE blocks, every position, each of the three bytes and their
    // near neighbours (TAB, VT, FF, 0x8D, 0x0A + 0x80) that must not be mistaken for them.
    for (std::size_t n = 0; n <= 40; ++n) {
        const std::string clean(n, 'a');
        EXPECT_FALSE(has_line_break_or_nul(clean)) << n;
        for (std::size_t at = 0; at < n; ++at) {
            for (char c : {'\r', '\n', '\0'}) {
                std::string s = clean;
                s[at] = c;
                EXPECT_TRUE(has_line_break_or_nul(s)) << n << " " << at << " " << int(c);
            }
            for (char c : {'\t', '\x0b', '\x0c', '\x8d', '\x8a', '\x01', '\x0e'}) {
                std::string s = clean;
                s[at] = c;
                EXPECT_FALSE(has_line_break_or_nul(s)) << n << " " << at << " " << int(c);
            }
        }
    }
}

TEST(ForwardHeaders, ConnectionSpecific) {
    auto m = make({{"Connection", "X-Foo , close"}});
    EXPECT_TRUE(is_connection_specific("x-foo", m));
    EXPECT_TRUE(is_connection_specific("Transfer-Encoding", m));
    EXPECT_TRUE(is_connection_specific("X-Forwarded-For", m));
    EXPECT_FALSE(is_connection_specific("X-Bar", m));
}

}  // namespace
}  // namespace shimgate

namespace shimgate {
namespace {

// --trusted-proxies: from a trusted peer the client's X-Forwarded-* are kept and the peer appended.
TEST(ForwardHeadersTrusted, KeepsTheChainAndAppendsThePeer) {
    head_fields in;
    in.add("Host", "shim.example");
    in.add("X-Forwarded-For", "203.0.113.7");
    in.add("X-Forwarded-Proto", "https");
    in.add("x-forwarded-for", " 10.0.0.9 ");
    in.add("X-Forwarded-Host", "api.example");
    in.add("Accept", "*/*");
    forward_info info{"127.0.0.1", "http", "up:9090"};
    info.trusted_peer = true;
    std::string out;
    write_upstream_head(out, "GET", "/", in, info, {});
    EXPECT_EQ(out,
              "GET / HTTP/1.1\r\n"
              "Host: up:9090\r\n"
              "X-Forwarded-Proto: https\r\n"
              "X-Forwarded-Host: api.example\r\n"
              "Accept: */*\r\n"
              "Via: 1.1 shimgate\r\n"
              "X-Forwarded-For: 203.0.113.7, 10.0.0.9, 127.0.0.1\r\n"
              "\r\n");

    // Not trusted: replaced, as before.
    info.trusted_peer = false;
    out.clear();
    write_upstream_head(out, "GET", "/", in, info, {});
    EXPECT_EQ(out,
              "GET / HTTP/1.1\r\n"
              "Host: up:9090\r\n"
              "Accept: */*\r\n"
              "Via: 1.1 shimgate\r\n"
              "X-Forwarded-For: 127.0.0.1\r\n"
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: shim.example\r\n"
              "\r\n");
}

TEST(ForwardHeadersTrusted, AbsentFieldsAreSetFromThePeer) {
    head_fields in;
    in.add("Host", "shim.example");
    forward_info info{"10.0.0.1", "https", "up:9090"};
    info.trusted_peer = true;
    std::string out;
    write_upstream_head(out, "GET", "/", in, info, {});
    EXPECT_EQ(out,
              "GET / HTTP/1.1\r\n"
              "Host: up:9090\r\n"
              "Via: 1.1 shimgate\r\n"
              "X-Forwarded-For: 10.0.0.1\r\n"
              "X-Forwarded-Proto: https\r\n"
              "X-Forwarded-Host: shim.example\r\n"
              "\r\n");

    // A field named in Connection is hop-by-hop even from a trusted peer.
    head_fields hop;
    hop.add("Host", "h");
    hop.add("Connection", "X-Forwarded-Proto");
    hop.add("X-Forwarded-Proto", "https");
    info.proto = "http";
    out.clear();
    write_upstream_head(out, "GET", "/", hop, info, {});
    EXPECT_NE(out.find("X-Forwarded-Proto: http\r\n"), std::string::npos);  // ours
    EXPECT_EQ(out.find("https"), std::string::npos);
}

}  // namespace
}  // namespace shimgate
