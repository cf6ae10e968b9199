#include "proxy/head.hpp"

#include <gtest/gtest.h>
#include <boost/asio/buffer.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "proxy/head_parser.hpp"

namespace shimgate {
namespace {

namespace http = boost::beast::http;

// Parses `bytes` (head and body) with `p`, lending `chunk` bytes at a time for the body; returns
// the body read, or "error: ..." if the parser refused.
template <bool isRequest>
std::string parse_all(flat_parser<isRequest>& p, std::string_view bytes, std::size_t chunk) {
    p.eager(false);  // the head alone first, as the session reads it
    std::string body;
    std::vector<char> buf(chunk);
    boost::beast::error_code ec;
    std::size_t used = p.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec) return "error: " + ec.message();
    bytes.remove_prefix(used);
    p.eager(true);
    while (!p.is_done()) {
        p.lend_body_buffer(buf.data(), buf.size());
        used = p.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
        if (ec == http::error::need_buffer) ec = {};
        if (ec) return "error: " + ec.message();
        body.append(buf.data(), buf.size() - p.body_left());
        bytes.remove_prefix(used);
        if (used == 0 && p.body_left() == buf.size()) return "error: stuck";
    }
    return body;
}

TEST(Head, RequestLineAndFieldsInArrivalOrder) {
    request_head h;
    request_flat_parser p(h);
    std::string in =
        "POST /api/x?q=1 HTTP/1.1\r\nHost: a.example\r\nX-Two: 1\r\nx-two: 2\r\n"
        "Content-Length: 0\r\nX-Custom: v\r\n\r\n";
    EXPECT_EQ(parse_all(p, in, 16), "");
    EXPECT_EQ(h.method(), http::verb::post);
    EXPECT_EQ(h.method_string(), "POST");
    EXPECT_EQ(h.target(), "/api/x?q=1");
    EXPECT_EQ(h.version(), 11u);
    ASSERT_EQ(h.size(), 5u);
    std::vector<std::string> seen;
    for (const field_view f : h)
        seen.push_back(std::string(f.name_string()) + "=" + std::string(f.value()));
    EXPECT_EQ(seen, (std::vector<std::string>{"Host=a.example", "X-Two=1", "x-two=2",
                                              "Content-Length=0", "X-Custom=v"}));
    EXPECT_EQ(h.at(0).name(), http::field::host);
    EXPECT_EQ(h.at(4).name(), http::field::unknown);
    // Look-ups: the first value, case-insensitive names; counts see every repetition.
    EXPECT_EQ(h["x-TWO"], "1");
    EXPECT_EQ(h.count("X-Two"), 2u);
    EXPECT_EQ(h[http::field::host], "a.example");
    EXPECT_EQ(h.count(http::field::content_length), 1u);
    EXPECT_EQ(h["X-Absent"], "");
    EXPECT_FALSE(h.contains(http::field::transfer_encoding));
    EXPECT_TRUE(p.keep_alive());
}

TEST(Head, ReusedForTheNextMessageWithNothingLeftOver) {
    request_head h;
    {
        request_flat_parser p(h);
        EXPECT_EQ(parse_all(p, "GET /a HTTP/1.1\r\nHost: a\r\nX-Old: 1\r\n\r\n", 16), "");
    }
    request_flat_parser p(h);
    EXPECT_EQ(parse_all(p, "DELETE /b HTTP/1.0\r\nX-New: 2\r\n\r\n", 16), "");
    EXPECT_EQ(h.method(), http::verb::delete_);
    EXPECT_EQ(h.target(), "/b");
    EXPECT_EQ(h.version(), 10u);
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h["X-New"], "2");
    EXPECT_FALSE(h.contains("X-Old"));
    EXPECT_FALSE(h.contains(http::field::host));
}

TEST(Head, BodyIntoLentBuffersLengthAndChunked) {
    request_head h;
    request_flat_parser sized(h);
    EXPECT_EQ(
        parse_all(sized, "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", 4),
        "hello world");
    request_flat_parser chunked(h);
    EXPECT_EQ(parse_all(chunked,
                        "PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n",
                        3),
              "hello world");
    EXPECT_TRUE(chunked.chunked());
}

TEST(Head, NoBufferLentStopsWithNeedBuffer) {
    request_head h;
    request_flat_parser p(h);
    p.eager(false);
    std::string in = "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    boost::beast::error_code ec;
    std::size_t used = p.put(boost::asio::buffer(in), ec);
    EXPECT_FALSE(ec);
    EXPECT_TRUE(p.is_header_done());
    used = p.put(boost::asio::buffer(in.data() + used, in.size() - used), ec);
    EXPECT_EQ(ec, http::error::need_buffer);
    EXPECT_EQ(used, 0u);
}

TEST(Head, ResponseStatusLine) {
    response_head h;
    response_flat_parser p(h);
    EXPECT_EQ(parse_all(p,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nX-Request-Id: r1\r\n"
                        "Connection: close\r\n\r\nno",
                        64),
              "no");
    EXPECT_EQ(h.result_int(), 404u);
    EXPECT_EQ(h.reason(), "Not Found");
    EXPECT_EQ(h.version(), 11u);
    EXPECT_TRUE(h.contains("x-request-id"));
    EXPECT_FALSE(p.keep_alive());
}

TEST(Head, PutHeadParsesFromTheKeptCopyAndLaterFieldsAreCopiedIn) {
    request_head h;
    request_flat_parser p(h);
    p.eager(false);
    std::string in = "PUT /v1/users/7 HTTP/1.1\r\nHost: a\r\nX-One: 1\r\n\r\n{\"body\":1}";
    const std::size_t head_size = in.find("\r\n\r\n") + 4;
    boost::beast::error_code ec;
    EXPECT_EQ(p.put_head(std::string_view(in).substr(0, head_size), ec), head_size);
    EXPECT_FALSE(ec);
    // The caller's buffer may change or go: the head lives on in its own copy.
    std::fill(in.begin(), in.end(), 'x');
    in.clear();
    in.shrink_to_fit();
    EXPECT_EQ(h.method_string(), "PUT");
    EXPECT_EQ(h.target(), "/v1/users/7");
    h.add("X-Added", "later");  // copied in, after the adopted text
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h[http::field::host], "a");
    EXPECT_EQ(h["X-One"], "1");
    EXPECT_EQ(h["X-Added"], "later");
    EXPECT_EQ(h.target(), "/v1/users/7");
}

TEST(Head, HandBuiltFieldsLookUpBeastsTable) {
    head_fields f;
    f.add("content-type", "application/json");
    f.add("X-Mine", "1");
    EXPECT_EQ(f.at(0).name(), http::field::content_type);
    EXPECT_EQ(f[http::field::content_type], "application/json");
    EXPECT_EQ(f.at(1).name(), http::field::unknown);
    f.clear();
    EXPECT_TRUE(f.empty());
    EXPECT_EQ(f[http::field::content_type], "");
}

}  // namespace
}  // namespace shimgate
