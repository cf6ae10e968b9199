#pragma once
// The I/O steps the session and the upstream exchange share, each written once:
// - write_at_once / write_rest: a buffer sequence written whole. What the socket takes at once goes
//   without waiting (plain TCP: usually everything); only a remainder (or TLS) goes through Asio's
//   async_write, in a coroutine.
// - reading what has arrived: two steps, so that a read of bytes already reported costs no
//   suspension and no posted completion (timed_socket::read_now; TLS and the plain path always
//   take the second step):
//     std::size_t n = stream.read_now(space, ec);
//     if (ec == net::error::would_block)
//         std::tie(ec, n) = co_await stream.async_read_some(space, use_tuple);
// - parse_body_piece / read_and_parse / body_piece_done: one step of a body (a client's request
//   or the upstream's answer) into a lent buffer (a relay block when it streams on, the end of a
//   string when it is read whole: whole_body_room). What is already buffered is parsed at once (no
//   I/O, no coroutine frame, no posted completion); only a parser that wants more bytes reads
//   (read_and_parse on the client side; Beast's http::async_read_some on the upstream side, see
//   upstream_exchange::parse_piece).
#include <algorithm>
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
#include <boost/optional/optional.hpp>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <tuple>

#include "net/block_pool.hpp"
#include "net/flex_stream.hpp"
#include "proxy/chunked_scan.hpp"
#include "proxy/head_parser.hpp"

namespace shimgate {

// A client connection's receive buffer: a block of the worker's read pool while bytes are held.
using client_buffer = boost::beast::basic_flat_buffer<pooled_allocator<char>>;

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

inline std::string_view as_view(boost::asio::const_buffer b) {
    return {static_cast<const char*>(b.data()), b.size()};
}

// Writing a buffer sequence whole, in two steps so that the usual case costs no coroutine frame:
//   if (!write_at_once(s, buffers, ec, n)) ec = co_await write_rest(s, buffers, n);
// write_at_once puts what the socket takes now (plain TCP: usually everything). True when nothing
// is left to do: all written, or failed (`ec` set); false when the rest must go through
// write_rest, `n` bytes having gone (TLS: always, with n = 0). The stream's deadline is the
// caller's to set.
template <class ConstBuffers>
bool write_at_once(flex_stream& s, const ConstBuffers& buffers, boost::beast::error_code& ec,
                   std::size_t& n) {
    n = s.write_now(buffers, ec);
    if (ec == boost::asio::error::would_block) ec = {};
    return ec || n == boost::asio::buffer_size(buffers);
}

// The rest of `buffers` after the first `n` bytes; `n` becomes the bytes written in all.
template <class ConstBuffers>
boost::asio::awaitable<boost::beast::error_code> write_rest(flex_stream& s,
                                                            const ConstBuffers& buffers,
                                                            std::size_t& n) {
    boost::beast::buffers_suffix<ConstBuffers> rest(buffers);
    rest.consume(n);
    auto [ec, m] = co_await boost::asio::async_write(s, rest, use_tuple);
    n += m;
    co_return ec;
}

// Parses what `b` holds; need_more if it holds nothing. `b` is a connection's receive buffer (the
// client's or the upstream's), `p` a request or answer parser.
template <class Buffer, class Parser>
boost::beast::error_code parse_buffered(Buffer& b, Parser& p) {
    if (b.size() == 0) return boost::beast::http::error::need_more;
    boost::beast::error_code ec;
    b.consume(p.put(b.data(), ec));
    return ec;
}

// Reads until the parser makes a step, with http::async_read_some's results: a close before any
// byte of the message is end_of_stream; a close after some is handed to the parser (it ends a
// close-delimited body, or is partial_message). With `scan` (a chunked body), each byte read is
// checked by it before the parser sees it: bad_chunk as soon as a bad one arrives.
boost::asio::awaitable<boost::beast::error_code> read_and_parse(flex_stream& s, client_buffer& b,
                                                                request_flat_parser& p,
                                                                chunked_scan* scan = nullptr);

// One step of a body (a client's request, or the upstream's answer), in the same two steps:
//   ec = parse_body_piece(buffer, parser, relay, size);
//   if (ec == http::error::need_more) ec = co_await <read more and parse it>;
//   ec = body_piece_done(parser, ec, size, got);
// The first lends `relay` (`size` bytes) to the parser and parses what is buffered (no I/O, no
// coroutine frame, no posted completion): need_more only when that gave no body byte; the last
// says how much the relay holds (`got`) and clears need_buffer (a full relay is no error).
template <class Buffer, class Parser>
boost::beast::error_code parse_body_piece(Buffer& b, Parser& p, char* relay, std::size_t size) {
    p.lend_body_buffer(relay, size);
    boost::beast::error_code ec = parse_buffered(b, p);
    // Body bytes before an incomplete chunk size line are a piece: they go on now, not when the
    // next chunk's head arrives (a stream of events must not lag one chunk behind).
    if (ec == boost::beast::http::error::need_more && p.body_left() != size) ec = {};
    return ec;
}

// How much room to lend the parser for the next piece of a body read whole into a string that
// holds `have` bytes: the rest of a `declared` length, else as much again as it holds (4 KiB at
// least); `most` at most. The string grows by that much and is cut back to what came, so the body
// is parsed straight into it: no relay block is lent, no bytes are copied twice.
inline std::size_t whole_body_room(const boost::optional<std::uint64_t>& declared, std::size_t have,
                                   std::size_t most) noexcept {
    if (declared && *declared > have)
        return static_cast<std::size_t>(std::min<std::uint64_t>(*declared - have, most));
    return std::clamp<std::size_t>(have, 4096, most);
}

template <class Parser>
boost::beast::error_code body_piece_done(const Parser& p, boost::beast::error_code ec,
                                         std::size_t size, std::size_t& got) {
    got = size - p.body_left();
    if (ec == boost::beast::http::error::need_buffer) ec = {};
    return ec;
}

}  // namespace shimgate
