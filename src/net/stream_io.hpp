#pragma once
// The I/O steps the session and the upstream exchange share, each written once:
// - write_all: writes a buffer sequence whole. What the socket takes at once goes without waiting
//   (plain TCP: usually everything); only a remainder (or TLS) goes through Asio's async_write.
// - read_body_piece: one step of a client's request body into a lent buffer. What is already
//   buffered is parsed at once (no I/O, no posted completion); only a parser that wants more
//   bytes reads (read_and_parse). Beast's composed read costs a composed op, work guards and a
//   posted completion per call; the upstream's answer body stays on it, which keeps the soak's p99
//   under saturation lower (measured, cause unknown: docs/architecture.md, "Reading bodies").
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <stdexcept>
#include <string_view>

#include "net/block_pool.hpp"
#include "net/flex_stream.hpp"
#include "proxy/head_parser.hpp"

namespace shimgate {

// A client connection's receive buffer: a block of the worker's read pool while bytes are held.
using client_buffer = boost::beast::basic_flat_buffer<pooled_allocator<char>>;

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

inline std::string_view as_view(boost::asio::const_buffer b) {
    return {static_cast<const char*>(b.data()), b.size()};
}

// All of `buffers`, or the error that stopped it (the stream's deadline is the caller's to set).
// `written`, if given, receives how many bytes went.
template <class ConstBuffers>
boost::asio::awaitable<boost::beast::error_code> write_all(flex_stream& s,
                                                           const ConstBuffers& buffers,
                                                           std::size_t* written = nullptr) {
    boost::beast::error_code ec;
    std::size_t n = s.write_now(buffers, ec);
    if (ec == boost::asio::error::would_block) ec = {};
    if (!ec && n < boost::asio::buffer_size(buffers)) {
        boost::beast::buffers_suffix<ConstBuffers> rest(buffers);
        rest.consume(n);
        auto [wec, m] = co_await boost::asio::async_write(s, rest, use_tuple);
        ec = wec;
        n += m;
    }
    if (written) *written = n;
    co_return ec;
}

// Parses what `b` holds; need_more if it holds nothing.
template <bool isRequest>
boost::beast::error_code parse_buffered(client_buffer& b,
                                        boost::beast::http::basic_parser<isRequest>& p) {
    if (b.size() == 0) return boost::beast::http::error::need_more;
    boost::beast::error_code ec;
    b.consume(p.put(b.data(), ec));
    return ec;
}

// Reads until the parser makes a step, with http::async_read_some's results: a close before any
// byte of the message is end_of_stream; a close after some is handed to the parser (it ends a
// close-delimited body, or is partial_message).
boost::asio::awaitable<boost::beast::error_code> read_and_parse(flex_stream& s, client_buffer& b,
                                                                request_flat_parser& p);

// One step of a request body into `relay` (`size` bytes lent to the parser); `got` is what it
// holds after. The error is the parser's or the stream's (need_buffer, a full relay, is none).
boost::asio::awaitable<boost::beast::error_code> read_body_piece(flex_stream& s, client_buffer& b,
                                                                 request_flat_parser& p,
                                                                 char* relay, std::size_t size,
                                                                 std::size_t& got);

}  // namespace shimgate
