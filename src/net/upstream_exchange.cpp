#include "net/upstream_exchange.hpp"

#include <array>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/read.hpp>

#include "observe/upstream_health.hpp"
#include "proxy/answer_head.hpp"
#include "proxy/framing.hpp"

namespace shimgate {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t max_upstream_head = 8 * 1024;  // Beast's default header limit

bool timed_out(const beast::error_code& ec) {
    return ec == beast::error::timeout;
}

// How a connection the upstream closed without answering ends a read (not a timeout: a slow
// upstream may be working on the request).
bool closed_unanswered(const beast::error_code& ec) {
    return ec == net::error::eof || ec == net::error::connection_reset ||
           ec == net::error::connection_aborted || ec == net::error::broken_pipe ||
           ec == net::ssl::error::stream_truncated;
}

}  // namespace

exchange_error client_body_error(const beast::error_code& ec) noexcept {
    if (ec == http::error::body_limit) return exchange_error::body_too_large;
    if (ec == beast::error::timeout) return exchange_error::body_timeout;
    if (ec.category() == http::make_error_code(http::error::bad_chunk).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message)
        return exchange_error::body_malformed;
    return exchange_error::client_gone;  // closed or reset mid-body, or its socket failed
}

bool upstream_exchange::safe_to_repeat(http::verb method) noexcept {
    switch (method) {
        case http::verb::get:
        case http::verb::head:
        case http::verb::put:
        case http::verb::delete_:
        case http::verb::options:
            return true;
        default:
            return false;
    }
}

net::awaitable<exchange_error> upstream_exchange::send(std::string_view head, std::string_view body,
                                                       bool replayable) {
    start_ = std::chrono::steady_clock::now();
    replay_head_ = head;
    replay_body_ = body;
    replayable_ = replayable;
    up_ = w_.pool.take_idle();
    for (;;) {
        if (!up_) {
            beast::error_code ec;
            up_ = co_await w_.pool.connect(ec);
            if (ec) {
                note_upstream_unreachable(w_.cfg.upstream.host_header, ec.message());
                co_return timeout_or(timed_out(ec), exchange_error::upstream_unreachable);
            }
            note_upstream_reachable(w_.cfg.upstream.host_header);
        }
        if (up_->remote.port() == 0) {  // once per connection: one getpeername
            beast::error_code ignored;
            up_->remote = up_->stream.socket().remote_endpoint(ignored);
        }
        remote_ = up_->remote;
        up_->stream.tcp().expires_after(w_.cfg.upstream_timeout);
        const bool reused = up_->reused;
        std::array<net::const_buffer, 2> bufs{net::buffer(head), net::buffer(body)};
        beast::error_code ec;
        std::size_t written = 0;
        if (!write_at_once(up_->stream, bufs, ec, written))
            ec = co_await write_rest(up_->stream, bufs, written);
        if (!ec) co_return exchange_error::none;
        up_.reset();
        // A reused connection the upstream closed (before the reactor reported it): nothing
        // written means the request never left; a part written may have, so only a request safe
        // to repeat goes again. A new connection is never retried (so at most one retry).
        if (!(reused && (written == 0 || replayable_)))
            co_return timeout_or(timed_out(ec), exchange_error::upstream_unreachable);
        w_.pool.count_retry();
    }
}

net::awaitable<exchange_error> upstream_exchange::resend_fresh() {
    w_.pool.count_retry();
    up_.reset();
    beast::error_code ec;
    up_ = co_await w_.pool.connect(ec);
    if (ec) co_return timeout_or(timed_out(ec), exchange_error::upstream_unreachable);
    up_->stream.tcp().expires_after(w_.cfg.upstream_timeout);
    std::array<net::const_buffer, 2> bufs{net::buffer(replay_head_), net::buffer(replay_body_)};
    std::size_t written = 0;
    if (!write_at_once(up_->stream, bufs, ec, written))
        ec = co_await write_rest(up_->stream, bufs, written);
    if (ec) co_return timeout_or(timed_out(ec), exchange_error::upstream_unreachable);
    co_return exchange_error::none;
}

net::awaitable<exchange_error> upstream_exchange::stream_body(
    flex_stream& client, client_buffer& buffer, request_flat_parser& parser, bool chunked,
    chunked_scan* scan, char* relay, steady_time body_deadline, std::uint64_t& bytes_in) {
    char size_line[24];
    while (!parser.is_done()) {
        client.tcp().expires_at(body_deadline);  // one deadline for the whole body
        std::size_t got = 0;
        beast::error_code ec = parse_body_piece(buffer, parser, relay, worker::relay_size);
        if (ec == http::error::need_more)
            ec = co_await read_and_parse(client, buffer, parser, chunked ? scan : nullptr);
        ec = body_piece_done(parser, ec, worker::relay_size, got);
        if (ec) co_return client_body_error(ec);
        bytes_in += got;
        if (final_answer_waiting()) co_return exchange_error::upstream_body_failed;
        const piece_frame frame = frame_piece(chunked, got, parser.is_done(), size_line);
        std::array<net::const_buffer, 3> bufs{net::buffer(frame.prefix), net::buffer(relay, got),
                                              net::buffer(frame.suffix)};
        up_->stream.tcp().expires_after(w_.cfg.upstream_timeout);
        beast::error_code wec;
        std::size_t n = 0;
        if (!write_at_once(up_->stream, bufs, wec, n))
            wec = co_await write_rest(up_->stream, bufs, n);
        if (wec) co_return timeout_or(timed_out(wec), exchange_error::upstream_body_failed);
    }
    client.tcp().expires_after(w_.cfg.idle_timeout);  // the body deadline is over
    co_return exchange_error::none;
}

// An upstream that answers before the body is all written (RFC 9112 §9.6: an early 413, 401,
// ...) is heard before the next piece: the session then reads and relays its answer. Only when the
// reactor saw bytes arrive (the plain path: always) is the socket peeked at; a TLS upstream is not
// (its records, session tickets among them, say nothing before they are decrypted), nor is an
// interim 1xx taken for an answer (the upstream still wants the body).
bool upstream_exchange::final_answer_waiting() noexcept {
    if (up_->stream.tls() || !up_->stream.tcp().readable_edge_pending()) return false;
    char peek[10];
    beast::error_code ec;
    const std::size_t n =
        up_->stream.socket().receive(net::buffer(peek), net::socket_base::message_peek, ec);
    if (ec || n == 0) return false;  // nothing, or a close: the next write says so
    return !(n == sizeof peek && peek[9] == '1');
}

net::awaitable<exchange_error> upstream_exchange::read_head(request_scratch& rs, bool head_request,
                                                            steady_time deadline) {
    up_->stream.tcp().expires_at(deadline);
    // A byte of the answer arrived (a 1xx included): the request is never sent again.
    bool answer_begun = up_->buffer.size() != 0;
    for (;;) {
        parser_ = &rs.upstream_parser.emplace(rs.upstream_head);
        parser_->body_limit(boost::none);
        if (head_request) parser_->skip(true);
        parser_->eager(false);  // the head alone, as http::async_read_header
        // The head is gathered whole, then parsed from the copy rs.upstream_head keeps (its fields
        // are views into that copy). Over Beast's default header limit: 502.
        std::size_t end = 0;
        while ((end = find_head_end(as_view(up_->buffer.data()))) == 0) {
            if (up_->buffer.size() > max_upstream_head)
                co_return exchange_error::upstream_malformed;
            const auto space = up_->buffer.prepare(beast::read_size(up_->buffer, 65536));
            beast::error_code ec;
            std::size_t n = up_->stream.read_now(space, ec);
            if (ec == net::error::would_block)
                std::tie(ec, n) = co_await up_->stream.async_read_some(space, use_tuple);
            up_->buffer.commit(n);
            answer_begun = answer_begun || n != 0;
            if (!ec) continue;
            if (answer_begun || !up_->reused || !replayable_ || !closed_unanswered(ec))
                co_return timeout_or(timed_out(ec), exchange_error::upstream_closed);
            // A reused connection ended before any byte of the answer: the upstream closed it as
            // the request went out (an idle close crossing it, or its per-connection limit). Once
            // more on a new connection, which is never retried.
            const exchange_error resent = co_await resend_fresh();
            if (resent != exchange_error::none) co_return resent;
            up_->stream.tcp().expires_at(deadline);
        }
        if (end > max_upstream_head) co_return exchange_error::upstream_malformed;
        beast::error_code ec;
        const std::size_t used = parser_->put_head(as_view(up_->buffer.data()).substr(0, end), ec);
        up_->buffer.consume(used);
        if (ec || !parser_->is_header_done()) co_return exchange_error::upstream_malformed;
        const unsigned status = parser_->get().result_int();
        // Upgrade is never forwarded, so a switch is a protocol error.
        if (status == 101) co_return exchange_error::upstream_malformed;
        if (status >= 200) {
            // Only chunked is a transfer coding the shim can re-frame; anything else (gzip, ...)
            // would reach the client as if it were the content.
            auto te = parser_->get()[http::field::transfer_encoding];
            if (!te.empty() && !iequals_ascii(te, "chunked"))
                co_return exchange_error::upstream_malformed;
            co_return exchange_error::none;
        }
        // 1xx interim answers are consumed here; the final one follows.
    }
}

net::awaitable<exchange_error> upstream_exchange::read_body(std::string& out, std::size_t limit,
                                                            steady_time deadline,
                                                            buffer_hold* hold) {
    out.clear();
    const auto len = parser_->content_length();
    if (len) {
        if (*len > limit) co_return exchange_error::upstream_too_large;
        if (hold && !hold->grow(*w_.budget, *len)) co_return exchange_error::buffers_full;
        out.reserve(*len);
    }
    while (!parser_->is_done()) {
        const std::size_t have = out.size();
        const std::size_t room = whole_body_room(len, have, worker::relay_size);
        out.resize(have + room);
        std::size_t got = 0;
        beast::error_code ec = parse_piece(out.data() + have, room);
        if (ec == http::error::need_more) {
            auto [read, n] = co_await read_piece(deadline);
            ec = read;
        }
        const exchange_error e = piece_done(ec, room, got);
        out.resize(have + got);
        if (e != exchange_error::none) co_return e;
        if (out.size() > limit) co_return exchange_error::upstream_too_large;
        if (hold && !len && !hold->grow(*w_.budget, got)) co_return exchange_error::buffers_full;
    }
    co_return exchange_error::none;
}

beast::error_code upstream_exchange::parse_piece(char* into, std::size_t size) {
    // Eager: all that is buffered in one piece, chunk size lines included (parse_body_piece hands
    // over the body bytes before an incomplete size line).
    parser_->eager(true);
    return parse_body_piece(up_->buffer, *parser_, into, size);
}

upstream_exchange::piece_read upstream_exchange::read_piece(steady_time deadline) {
    up_->stream.tcp().expires_at(deadline);
    // Not eager: Beast's read reads again whenever the parser says need_more, even after it took
    // body bytes; stopping after each chunk's data hands that chunk over before the next one's
    // size line arrives.
    parser_->eager(false);
    return http::async_read_some(up_->stream, up_->buffer, *parser_, use_tuple);
}

exchange_error upstream_exchange::piece_done(beast::error_code ec, std::size_t size,
                                             std::size_t& got) noexcept {
    ec = body_piece_done(*parser_, ec, size, got);
    if (ec && !(ec == http::error::end_of_stream && parser_->is_done()))
        return timeout_or(timed_out(ec), exchange_error::upstream_cut);
    return exchange_error::none;
}

void upstream_exchange::finish() noexcept {
    if (up_ && parser_ && parser_->is_done() && parser_->keep_alive() && up_->buffer.size() == 0 &&
        !w_.draining) {
        w_.pool.give_back(std::move(up_), parser_->get()[http::field::keep_alive]);
    }
    up_.reset();
}

void upstream_exchange::abandon() noexcept {
    up_.reset();
}

}  // namespace shimgate
