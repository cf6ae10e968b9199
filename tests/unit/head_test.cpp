#include "proxy/head.hpp"

#include <gtest/gtest.h>
#include <boost/asio/buffer.hpp>

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <optional>
#include <string>
#include <vector>

#include "proxy/framing.hpp"
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
    const std::size_t head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return "error: no head";
    std::size_t used = p.put_head(bytes.substr(0, head_end + 4), ec);
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

// What a parser made of a head: the start line, the fields in order, and the framing state.
template <bool isRequest>
std::string summary(const flat_parser<isRequest>& p) {
    std::string out;
    const auto& h = p.get();
    if constexpr (isRequest) {
        out = std::string(h.method_string()) + " " + std::string(h.target());
    } else {
        out = std::to_string(h.result_int()) + " " + std::string(h.reason());
    }
    out += " v" + std::to_string(h.version()) + "\n";
    for (const field_view f : h) {
        out += std::to_string(static_cast<int>(f.name())) + " " + std::string(f.name_string()) +
               "=[" + std::string(f.value()) + "]\n";
    }
    out += "keep_alive=" + std::to_string(p.keep_alive()) +
           " chunked=" + std::to_string(p.chunked()) + " upgrade=" + std::to_string(p.upgrade()) +
           " length=" + (p.content_length() ? std::to_string(*p.content_length()) : "-") +
           " done=" + std::to_string(p.is_done()) + " need_eof=" + std::to_string(p.need_eof());
    return out;
}

// `head` parsed by put_head (split, then a digest through Beast) or by put_whole_head (every
// field through Beast): the summary, or nullopt if refused. A response parser skips the body
// when `head_request`.
template <bool isRequest>
std::optional<std::string> parse_head(std::string_view head, bool whole, bool head_request) {
    typename flat_parser<isRequest>::head_type h;
    flat_parser<isRequest> p(h);
    p.eager(false);
    if constexpr (!isRequest) p.skip(head_request);
    boost::beast::error_code ec;
    const std::size_t used = whole ? p.put_whole_head(head, ec) : p.put_head(head, ec);
    if (ec || !p.is_header_done() || used != head.size()) return std::nullopt;
    return summary(p);
}

// put_head accepts exactly the heads that Beast's whole-head parse and check_raw_head (the
// session's checks before) both accept, and makes the same of them: start line, fields, framing.
template <bool isRequest>
void expect_same_as_whole(std::string_view head, bool head_request = false) {
    SCOPED_TRACE(std::string(head));
    const auto split = parse_head<isRequest>(head, false, head_request);
    const auto whole = parse_head<isRequest>(head, true, head_request);
    const bool strict = check_raw_head(head, head_limits{}).ok();
    ASSERT_EQ(split.has_value(), whole.has_value() && strict)
        << "whole: " << (whole ? *whole : "refused") << ", check_raw_head: " << strict;
    if (split) {
        EXPECT_EQ(*split, *whole);
    }
}

TEST(Head, SplitHeadsFrameRequestsAsBeastsWholeParse) {
    const std::string long_name(40, 'x'), long_value(70, 'v');
    for (const std::string& fields : std::vector<std::string>{
             "Host: a\r\n",
             "Host: a\r\nContent-Length: 12\r\nX-A: 1\r\n",
             "Host: a\r\nContent-Length: 5, 5\r\n",
             "Host: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n",
             "Host: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n",
             "Host: a\r\nContent-Length: -1\r\n",
             "Host: a\r\nContent-Length: 99999999999999999999999\r\n",
             "Host: a\r\nTransfer-Encoding: chunked\r\n",
             "Host: a\r\nTransfer-Encoding: gzip, chunked\r\n",
             "Host: a\r\nTransfer-Encoding: chunked, gzip\r\n",
             "Host: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
             "Host: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n",
             "Host: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n",
             "Host: a\r\nConnection: close\r\n",
             "Host: a\r\nConnection: keep-alive\r\n",
             "Host: a\r\nConnection: Keep-Alive\r\nConnection: close\r\n",
             "Host: a\r\nconnection: Keep-Alive, TE\r\nTE: trailers\r\n",
             "Host: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n",
             "Host: a\r\nProxy-Connection: close\r\n",
             "Host: a\r\nConnection: a b\r\n",
             "Host: a\r\nConnection: ,,close,\r\n",
             "Host: a\r\nX-Empty:\r\nX-Spaces: \t  \t\r\nX-Inner: a \t b  \r\n",
             "Host: a\r\nX-Obs-Text: caf\xc3\xa9 \xff\r\n",
             "Host: a\r\n" + long_name + ":" + long_value + "\r\n" + long_name + "-2: x\r\n",
             "Host: a\r\nX-A : 1\r\n",                      // space before the colon
             "Host: a\r\n: 1\r\n",                          // empty name
             "Host: a\r\nX(A): 1\r\n",                      // separator in the name
             "Host: a\r\nX-A: 1\r\n 2\r\n",                 // obs-fold
             "Host: a\r\nX-A: 1\x7f\r\n",                   // DEL
             std::string("Host: a\r\nX-A: 1\0 2\r\n", 20),  // NUL
             "Host: a\r\nX-A: 1\r2\r\n",                    // bare CR
             "Host: a\r\nX-A: 1\n2\r\n",                    // bare LF
             "Host: a\r\nX-A: \x01\r\n",                    // control
             "Host: a\r\nX-A\r\n",                          // no colon
             "Host: a\r\nX-\xc3\xa9: 1\r\n",                // obs-text in the name
         }) {
        for (std::string line :
             {"PUT /a?b=c HTTP/1.1", "GET / HTTP/1.0", "OPTIONS * HTTP/1.1", "M /x HTTP/1.2",
              "GET /a b HTTP/1.1", "GET /a\x01 HTTP/1.1", "GET  /a HTTP/1.1", "GET /a HTTP/1.1 "})
            expect_same_as_whole<true>(line + "\r\n" + fields + "\r\n");
    }
}

TEST(Head, SplitHeadsFrameResponsesAsBeastsWholeParse) {
    for (const std::string& fields : std::vector<std::string>{
             "",
             "Content-Length: 333\r\nConnection: keep-alive\r\nServer: nginx\r\n",
             "Transfer-Encoding: chunked\r\nDate: Sun, 06 Dec 2026 13:57:13 GMT\r\n",
             "Transfer-Encoding: gzip\r\n",
             "Content-Length: 2\r\nContent-Length: 3\r\n",
             "Connection: close\r\nContent-Length: 0\r\n",
             "X-A: 1\r\n\t2\r\n",
         }) {
        for (std::string line :
             {"HTTP/1.1 200 OK", "HTTP/1.0 200 OK", "HTTP/1.1 204 No Content",
              "HTTP/1.1 304 Not Modified", "HTTP/1.1 100 Continue", "HTTP/1.1 200 caf\xc3\xa9",
              "HTTP/1.1 200 ", "HTTP/1.1 2000 OK", "HTTP/2.0 200 OK"}) {
            for (bool head_request : {false, true})
                expect_same_as_whole<false>(line + "\r\n" + fields + "\r\n", head_request);
        }
    }
}

// The session's verdict on a complete head: put_head (grammar, split), then check_head_limits;
// check_raw_head only to name what put_head refused. It must be check_raw_head's own verdict,
// given Beast's whole parse accepts the start line: every single-byte change of a realistic
// head, with bytes that matter to either, and limits at and around the head's own sizes.
TEST(Head, SessionVerdictIsCheckRawHeadsOnEveryByteChange) {
    const std::string base =
        "\r\nPOST /api/update_user_group/?a=1 HTTP/1.1\r\nHost: example.com\r\n"
        "Explo-Authorization: Token demo\r\nContent-Type: application/json\r\n"
        "X-Obs: caf\xc3\xa9\r\nContent-Length: 12\r\n\r\n";
    const std::string bytes("\r\n\0 \t:\x7f\x80\x1f(aZ\"", 14);
    std::vector<head_limits> limits{{}, {48, 200, 5}, {47, 140, 6}, {8192, 130, 4}, {10, 10, 1}};
    std::size_t compared = 0, refused = 0;
    auto same = [&](std::string_view head, const head_limits& l) {
        std::size_t skip = 0;
        while (head.substr(skip, 2) == "\r\n") skip += 2;
        request_head h, whole_h;
        request_flat_parser p(h), whole(whole_h);
        p.eager(false);
        whole.eager(false);
        p.body_limit(boost::none);
        whole.body_limit(boost::none);
        boost::beast::error_code ec, whole_ec;
        p.put_head(head.substr(skip), ec);
        whole.put_whole_head(head.substr(skip), whole_ec);
        head_verdict session = ec ? check_raw_head(head, l) : check_head_limits(head, h.size(), l);
        if (ec && session.ok()) session = {400, "malformed request head"};
        head_verdict reference = check_raw_head(head, l);
        if (reference.ok() && whole_ec) reference = {400, "malformed request head"};
        ++compared;
        refused += !reference.ok();
        return session.status == reference.status && session.reason == reference.reason;
    };
    for (const auto& l : limits) {
        ASSERT_TRUE(same(base, l));
        for (std::size_t i = 0; i + 4 < base.size(); ++i) {  // the final CRLFCRLF stays
            for (char b : bytes) {
                std::string head = base;
                head[i] = b;
                ASSERT_TRUE(same(head, l)) << "byte " << i << " set to " << int(b);
                head.insert(i, 1, b);
                ASSERT_TRUE(same(head, l)) << "byte " << int(b) << " inserted at " << i;
            }
        }
    }
    EXPECT_GT(refused, compared / 10) << "the mutations must exercise refusals";
    EXPECT_LT(refused, compared) << "and acceptances";
}

TEST(Head, IequalsAsciiFoldsOnlyAsciiLetters) {
    for (unsigned a = 0; a < 256; ++a) {
        for (unsigned b = 0; b < 256; ++b) {
            const char x = static_cast<char>(a), y = static_cast<char>(b);
            // Every length and position the word-at-a-time compare treats differently.
            for (std::size_t n : {1u, 3u, 4u, 7u, 8u, 9u, 16u, 21u}) {
                std::string s(n, 'q'), t(n, 'Q');
                s[n / 2] = x;
                t[n / 2] = y;
                ASSERT_EQ(iequals_ascii(s, t), boost::beast::iequals(s, t))
                    << a << " " << b << " length " << n;
            }
        }
    }
    EXPECT_FALSE(iequals_ascii("content-type", "content-typ"));
    EXPECT_TRUE(iequals_ascii("Transfer-Encoding", "transfer-encoding"));
    EXPECT_FALSE(iequals_ascii("x^y", "x~y"));  // differ by 0x20, not letters
}

}  // namespace
}  // namespace shimgate
