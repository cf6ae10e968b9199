#include "proxy/chunked_scan.hpp"

#include <gtest/gtest.h>

#include <string>

namespace shimgate {
namespace {

using namespace std::string_literals;
using verdict = chunked_scan::verdict;

// Fed one byte at a time: the index of the byte that made the verdict final, and the verdict.
std::pair<std::size_t, verdict> bytewise(std::string_view body) {
    chunked_scan s;
    for (std::size_t i = 0; i < body.size(); ++i) {
        const verdict v = s.feed(body.substr(i, 1));
        if (v != verdict::more) return {i, v};
    }
    return {body.size(), s.state()};
}

TEST(ChunkedScan, ValidBodiesAreDoneWholeOrByteByByte) {
    for (const std::string& body : {
             "5\r\nhello\r\n0\r\n\r\n"s, "0\r\n\r\n"s,
             "005\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n"s, "5;ext=1\r\nhello\r\n0\r\n\r\n"s,
             "5;a=1;b=\"q \\\" x\"\r\nhello\r\n0;x=y\r\n\r\n"s,
             "5 ; a = b ;c\r\nhello\r\n0\r\n\r\n"s,
             "5\r\nhello\r\n0\r\nX-Trailer: v\tw\r\nB: \r\n\r\n"s,
             "5\r\nhe\nlo\r\n0\r\n\r\n"s,  // data bytes are data, LF or not
         }) {
        chunked_scan whole;
        EXPECT_EQ(whole.feed(body), verdict::done) << body << whole.problem();
        auto [at, v] = bytewise(body);
        EXPECT_EQ(v, verdict::done) << body;
        EXPECT_EQ(at, body.size() - 1) << body;
    }
}

TEST(ChunkedScan, StopsAtTheEndOfTheBody) {
    chunked_scan s;
    EXPECT_EQ(s.feed("0\r\n\r\nGET / HTTP/1.1\n\n"), verdict::done);  // the next request: not read
    EXPECT_EQ(s.feed("\n\n\n"), verdict::done);
}

TEST(ChunkedScan, BadAtTheFirstBadByteWithoutWaitingForMore) {
    struct bad_case {
        std::string body;
        std::size_t at;  // the index of the first bad byte
        std::string_view problem;
    };
    for (const auto& c : std::vector<bad_case>{
             {"5\nhello\n0\n\n", 1, "bare LF"},
             {"5\r\nhello\n0\r\n\r\n", 8, "bare LF"},  // LF where the data's CR belongs
             {"5\r\nhello\r\n0\n", 11, "bare LF"},
             {"5\r\nhello\r\n0\r\n\n", 13, "bare LF"},
             {"5\r\nhello\r\n0\r\nA: b\n", 17, "bare LF"},
             {"5\rhello", 2, "CR without LF"},
             {"0x5\r\n", 1, "bad chunk size"},
             {"+5\r\n", 0, "bad chunk size"},
             {"\r\nhello", 0, "bad chunk size"},
             {"5 5\r\n", 2, "extension"},
             {"5;\r\n", 2, "extension"},
             {"5;=x\r\n", 2, "extension"},
             {"5;a=\"x\x01\"\r\n", 6, "extension"},
             {"5;a=b c\r\n", 6, "extension"},
             {"5;a@\r\n", 3, "extension"},
             {"5\0\r\n"s, 1, "bad chunk size"},
             {"10000000000000005\r\n", 16, "too large"},
             {"5\r\nhelloXX\r\n", 8, "longer"},
             {"5\r\nhello\r\n0\r\nA: b\r\n c\r\n\r\n", 19, "obs-fold"},
             {"5\r\nhello\r\n0\r\n\tc\r\n\r\n", 13, "obs-fold"},
             {"5\r\nhello\r\n0\r\nA: b\x01\r\n\r\n", 17, "control"},
         }) {
        auto [at, v] = bytewise(c.body);
        EXPECT_EQ(v, verdict::bad) << c.body;
        EXPECT_EQ(at, c.at) << c.body;
        chunked_scan whole;
        EXPECT_EQ(whole.feed(c.body), verdict::bad) << c.body;
        EXPECT_NE(whole.problem().find(c.problem), std::string_view::npos)
            << c.body << ": " << whole.problem();
        EXPECT_EQ(whole.feed("0\r\n\r\n"), verdict::bad);  // stays bad
    }
}

}  // namespace
}  // namespace shimgate
