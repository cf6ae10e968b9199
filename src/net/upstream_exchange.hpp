#pragma once
// One request's exchange with the upstream, over a connection of the worker's pool: send the head
// (and a body held in memory), stream the rest of a client's body, read the answer's head (1xx
// consumed), read its body whole or piece by piece, and finish (the connection back to the pool
// only after a complete answer the upstream allows to reuse). Failures are exchange_error values
// (proxy/exchange_error.hpp); what the client is told is the session's business.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include "net/request_scratch.hpp"
#include "net/stream_io.hpp"
#include "net/upstream_pool.hpp"
#include "net/worker.hpp"
#include "proxy/exchange_error.hpp"

namespace shimgate {

// What a failed step of reading a client's body (body_piece_done's error) means: over --max-body,
// past --body-timeout, malformed framing, or the client gone (a close or reset mid-body).
exchange_error client_body_error(const boost::beast::error_code& ec) noexcept;

class upstream_exchange {
  public:
    using steady_time = std::chrono::steady_clock::time_point;

    explicit upstream_exchange(worker& w) : w_(w) {}
    upstream_exchange(const upstream_exchange&) = delete;
    upstream_exchange& operator=(const upstream_exchange&) = delete;

    // Head and body in one write, on an idle pooled connection or a new one. A pooled connection
    // whose write fails is replaced once and the request sent again on a new connection: always
    // when nothing was written (the request never left), else only when `replayable`.
    // `replayable`: the request is safe to repeat (safe_to_repeat, or a rule that says so) and
    // `head` and `body` are the whole request and stay valid until read_head is done; read_head
    // then also sends it once more on a new connection when a reused one ends (EOF, reset) before
    // any byte of the answer arrived.
    boost::asio::awaitable<exchange_error> send(std::string_view head, std::string_view body,
                                                bool replayable);
    // GET, HEAD, PUT, DELETE, OPTIONS: the methods a pass-through request may be repeated for.
    static bool safe_to_repeat(boost::beast::http::verb method) noexcept;

    // The rest of the client's body (read with `client`'s stream, buffer and parser), re-chunked
    // when `chunked` (its bytes checked by `scan` as they arrive), through `relay` (relay_size
    // bytes), all of it by `body_deadline` (then the client's connection is closed).
    // `bytes_in` grows by what was read.
    boost::asio::awaitable<exchange_error> stream_body(flex_stream& client, client_buffer& buffer,
                                                       request_flat_parser& parser, bool chunked,
                                                       chunked_scan* scan, char* relay,
                                                       steady_time body_deadline,
                                                       std::uint64_t& bytes_in);

    // The final answer head into `rs.upstream_head` (its parser in `rs.upstream_parser`), within
    // `deadline`. A HEAD request's answer has no body.
    boost::asio::awaitable<exchange_error> read_head(request_scratch& rs, bool head_request,
                                                     steady_time deadline);

    // The whole answer body into `out` (at most `limit` bytes), within `deadline`, its size
    // taken by `hold` from --max-buffered-bytes (at its Content-Length, or as it arrives):
    // buffers_full when there is no room.
    // The body is parsed straight into `out` (whole_body_room): no relay block.
    boost::asio::awaitable<exchange_error> read_body(std::string& out, std::size_t limit,
                                                     steady_time deadline, buffer_hold* hold);

    // One piece of the answer body into `into` (`size` bytes), in up to three steps, so that
    // what is buffered already (usually the whole body, which came with the head) costs no I/O,
    // no coroutine frame and no posted completion; only a parser that wants more bytes reads
    // (Beast's read, within `deadline`):
    //   beast::error_code ec = parse_piece(into, size);
    //   if (ec == http::error::need_more) ec = std::get<0>(co_await read_piece(deadline));
    //   exchange_error e = piece_done(ec, size, got);  // `got`: the bytes now in `into`
    boost::beast::error_code parse_piece(char* into, std::size_t size);
    using piece_read = boost::asio::awaitable<std::tuple<boost::beast::error_code, std::size_t>>;
    piece_read read_piece(steady_time deadline);
    exchange_error piece_done(boost::beast::error_code ec, std::size_t size,
                              std::size_t& got) noexcept;

    const response_head& answer() const noexcept { return parser_->get(); }
    response_flat_parser& parser() noexcept { return *parser_; }
    bool answer_done() const noexcept { return parser_->is_done(); }

    // The connection back to the pool if the answer is complete, the upstream allows reuse,
    // nothing stray is buffered and the worker is not draining; else closed.
    void finish() noexcept;
    // Closes the connection (a failed or abandoned exchange).
    void abandon() noexcept;
    // Forgets the answer's parser (it lives in the request scratch, given back after a request).
    void forget_parser() noexcept { parser_ = nullptr; }

    // From the first byte sent to now: the upstream's share of the request's time.
    std::chrono::nanoseconds elapsed() const noexcept {
        return std::chrono::steady_clock::now() - start_;
    }
    bool started() const noexcept { return start_ != steady_time{}; }
    // The address of the upstream connection the last send used (port 0: none), kept after the
    // connection is gone; and forgetting it and the clock when a new request begins.
    const boost::asio::ip::tcp::endpoint& remote() const noexcept { return remote_; }
    void forget_request() noexcept {
        start_ = {};
        remote_ = {};
    }

  private:
    // The replay: a new connection, the whole request written again.
    boost::asio::awaitable<exchange_error> resend_fresh();
    bool final_answer_waiting() noexcept;

    worker& w_;
    upstream_connection_ptr up_;
    std::string_view replay_head_, replay_body_;  // valid until read_head is done
    bool replayable_ = false;
    response_flat_parser* parser_ = nullptr;
    steady_time start_{};
    boost::asio::ip::tcp::endpoint remote_;
};

}  // namespace shimgate
