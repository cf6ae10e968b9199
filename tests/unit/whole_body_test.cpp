// A body read whole (a translated request's, or the upstream's answer to one) is parsed straight
// into its string: whole_body_room says how much room to lend, parse_body_piece and
// body_piece_done (net/stream_io.hpp) fill it. No I/O here: the whole message is buffered.
#include <gtest/gtest.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <string>

#include "net/stream_io.hpp"

namespace shimgate {
namespace {

namespace http = boost::beast::http;

constexpr std::size_t most = 64 * 1024;

std::string pattern(std::size_t n) {
    std::string s(n, ' ');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
}

// Reads the message in `raw` (head, then its body piece by piece) into `out`; the pieces taken.
int read_whole(const std::string& raw, std::string& out) {
    boost::beast::flat_buffer b;
    b.commit(boost::asio::buffer_copy(b.prepare(raw.size()), boost::asio::buffer(raw)));
    response_head head;
    response_flat_parser p(head);
    p.eager(true);
    boost::beast::error_code ec = parse_buffered(b, p);
    EXPECT_TRUE(p.is_header_done()) << ec.message();
    const auto declared = p.content_length();
    if (declared) out.reserve(*declared);
    int pieces = 0;
    while (!p.is_done() && pieces < 100) {
        const std::size_t have = out.size();
        const std::size_t room = whole_body_room(declared, have, most);
        out.resize(have + room);
        ec = parse_body_piece(b, p, out.data() + have, room);
        EXPECT_NE(ec, http::error::need_more) << "everything is buffered";
        std::size_t got = 0;
        ec = body_piece_done(p, ec, room, got);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_LE(got, room);
        out.resize(have + got);
        ++pieces;
    }
    EXPECT_TRUE(p.is_done());
    return pieces;
}

TEST(WholeBody, RoomIsTheRestOfTheDeclaredLengthUpToTheCap) {
    EXPECT_EQ(whole_body_room(std::uint64_t{118}, 0, most), 118u);
    EXPECT_EQ(whole_body_room(std::uint64_t{118}, 100, most), 18u);
    EXPECT_EQ(whole_body_room(std::uint64_t{200000}, 0, most), most);
    EXPECT_EQ(whole_body_room(std::uint64_t{200000}, 196608, most), 3392u);
}

TEST(WholeBody, RoomWithoutALengthDoublesWhatIsHeldFromFourKibToTheCap) {
    EXPECT_EQ(whole_body_room(boost::none, 0, most), 4096u);
    EXPECT_EQ(whole_body_room(boost::none, 4096, most), 4096u);
    EXPECT_EQ(whole_body_room(boost::none, 10000, most), 10000u);
    EXPECT_EQ(whole_body_room(boost::none, 1 << 20, most), most);
}

TEST(WholeBody, DeclaredLengthIsReadInOnePieceUpToTheCap) {
    const std::string small = pattern(333), large = pattern(100000);
    std::string out;
    EXPECT_EQ(read_whole("HTTP/1.1 200 OK\r\nContent-Length: 333\r\n\r\n" + small, out), 1);
    EXPECT_EQ(out, small);
    out.clear();
    EXPECT_EQ(read_whole("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + large, out), 2);
    EXPECT_EQ(out, large);
}

TEST(WholeBody, ChunkedBodyEndsAsItsDataInGrowingPieces) {
    const std::string body = pattern(20000);
    std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::size_t at = 0; at < body.size(); at += 3000) {
        const std::string chunk = body.substr(at, 3000);
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
        raw += size + chunk + "\r\n";
    }
    raw += "0\r\n\r\n";
    std::string out;
    // Room 4096, 4096, 8192, then 16384 for the last 3616 bytes.
    EXPECT_EQ(read_whole(raw, out), 4);
    EXPECT_EQ(out, body);
}

}  // namespace
}  // namespace shimgate
