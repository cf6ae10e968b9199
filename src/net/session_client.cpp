// client_session's side of its own client: the shim's own answers (a rewritten answer or a
// refusal, counted by its reason), the 100 Continue, a request body read whole, every write to
// the client (write_client), and the close (lingering, or TLS close_notify). The flows that call
// them are in session.cpp.
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "ledger/ledger_calls.hpp"
#include "net/session.hpp"
#include "observe/server_timing.hpp"
#include "proxy/answer_head.hpp"
#include "proxy/errors.hpp"
#include "proxy/framing.hpp"

namespace shimgate {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::ip::tcp;

net::awaitable<exchange_error> client_session::read_whole_body(std::string& out) {
    out.clear();
    const auto len = parser_->content_length();
    if (len) out.reserve(*len);
    chunked_scan* scan = parser_->chunked() ? &rs().chunks : nullptr;
    // A translated body without a length takes its share of --max-buffered-bytes as it arrives
    // (with one, it was taken at the head).
    const bool grows = rq().route && !len;
    // One deadline for the whole body, from its head, so a trickle cannot stretch it; it only
    // cancels the read, so that the request can still be answered (408).
    stream_.tcp().cancels_at(rq().start + w_.cfg.body_timeout);
    while (!parser_->is_done()) {
        const std::size_t have = out.size();
        const std::size_t room = whole_body_room(len, have, worker::relay_size);
        out.resize(have + room);
        std::size_t got = 0;
        beast::error_code ec = parse_body_piece(buffer_, *parser_, out.data() + have, room);
        if (ec == http::error::need_more)
            ec = co_await read_and_parse(stream_, buffer_, *parser_, scan);
        ec = body_piece_done(*parser_, ec, room, got);
        out.resize(have + got);
        rq().bytes_in = out.size();
        if (ec) co_return client_body_error(ec);
        if (grows && !rs().buffered.grow(*w_.budget, got)) co_return exchange_error::buffers_full;
    }
    stream_.tcp().expires_after(w_.cfg.idle_timeout);  // the body deadline is over
    co_return exchange_error::none;
}

bool client_session::buffered_chunks_bad() {
    rs().chunks.reset();
    if (!parser_->chunked()) return false;
    return rs().chunks.feed(as_view(buffer_.data())) == chunked_scan::verdict::bad;
}

client_session::next client_session::unanswered(exchange_error e) {
    const exchange_outcome& o = outcome_of(e);
    w_.metrics.count_refusal(o.reason);
    if (rq().request_id.empty()) choose_request_id(std::string_view(), w_.ids(), rq().request_id);
    answer_decided(o.status);
    close_after_ = true;
    return next::close;
}

// A client that sent `Expect: 100-continue` waits for the 100 before its body. False: the client
// cannot be written to.
net::awaitable<bool> client_session::send_continue_if_expected() {
    if (!continue_expected(parser_->get(), buffer_.size(), body_pending())) co_return true;
    co_return co_await write_client("HTTP/1.1 100 Continue\r\n\r\n");
}

net::awaitable<client_session::next> client_session::send_answer(unsigned status,
                                                                 std::string_view content_type,
                                                                 std::string_view body,
                                                                 const rule* route, bool keep_alive,
                                                                 std::string_view challenge) {
    keep_alive = keep_alive && !close_after_ && parser_ && client_keep_alive();
    if (rq().request_id.empty()) choose_request_id(std::string_view(), w_.ids(), rq().request_id);
    answer_decided(status);
    rq().bytes_out = body.size();
    write_answer_head(status, content_type, body.size(), route, keep_alive, challenge);
    const bool written = co_await write_client(rs().out, body);
    co_return written&& keep_alive ? next::keep_alive : next::close;
}

// The head of the shim's own answer, into rs().out (built outside the coroutine frame).
void client_session::write_answer_head(unsigned status, std::string_view content_type,
                                       std::size_t body_size, const rule* route, bool keep_alive,
                                       std::string_view challenge) {
    rs().out.clear();
    // The shim's only 503 is --max-buffered-bytes: a moment later there is room again.
    write_own_answer_head(rs().out, {status, content_type, body_size, route, keep_alive,
                                     parser_ ? parser_->get().version() : 11u, rq().request_id,
                                     challenge, status == 503 ? "1" : ""});
    if (w_.cfg.server_timing) add_server_timing_field();
}

void client_session::answer_decided(unsigned status) {
    // Once per request: an answer replaced before any of it was sent (a relay that failed
    // before its head went out is refused instead) was noted already.
    const bool noted = rq().status != 0;
    rq().status = status;
    if (noted) return;
    const bool head_read = parser_ && parser_->is_header_done();
    note_ledger_call(w_.ledger, rq(), head_read ? &parser_->get() : nullptr, w_.access != nullptr);
}

void client_session::add_server_timing_field() {
    const auto now = std::chrono::steady_clock::now();
    const auto total = rq().start == std::chrono::steady_clock::time_point{}
                           ? std::chrono::nanoseconds(0)
                           : std::chrono::nanoseconds(now - rq().start);
    std::optional<std::chrono::nanoseconds> upstream;
    if (upstream_.started())
        upstream = rq().upstream_time.count() > 0 ? rq().upstream_time : upstream_.elapsed();
    add_server_timing(rs().out, total, upstream);
}

net::awaitable<client_session::next> client_session::refuse(const rule* route, error_style style,
                                                            unsigned status,
                                                            std::string_view message,
                                                            refusal_reason reason,
                                                            bool keep_alive) {
    if (!keep_alive) close_after_ = true;
    w_.metrics.count_refusal(reason);
    // The answer is built in the scratch, outside this frame (it stays under Asio's recycling
    // limit).
    rs().answer = render_error(style, status, message);
    if (status == 401 && route) make_challenge(*route, rs().challenge);
    const client_answer& a = rs().answer;
    const std::string_view challenge =
        status == 401 && route ? std::string_view(rs().challenge) : std::string_view();
    co_return co_await send_answer(a.status, a.content_type, a.body, route, keep_alive, challenge);
}

net::awaitable<client_session::next> client_session::refuse(const rule* route, error_style style,
                                                            const refusal& why, bool keep_alive) {
    co_return co_await refuse(route, style, why.status, why.message, why.reason, keep_alive);
}

net::awaitable<client_session::next> client_session::refuse(const rule* route, error_style style,
                                                            exchange_error e, bool keep_alive) {
    const exchange_outcome& o = outcome_of(e);
    co_return co_await refuse(route, style, o.status, o.message, o.reason, keep_alive);
}

net::awaitable<bool> client_session::write_client(std::string_view a, std::string_view b,
                                                  std::string_view c, std::string_view d) {
    std::array<net::const_buffer, 4> bufs{net::buffer(a), net::buffer(b), net::buffer(c),
                                          net::buffer(d)};
    stream_.tcp().expires_after(w_.cfg.idle_timeout);
    beast::error_code ec;
    std::size_t n = 0;
    if (!write_at_once(stream_, bufs, ec, n)) ec = co_await write_rest(stream_, bufs, n);
    co_return !ec;
}

bool client_session::client_keep_alive() const {
    return parser_->keep_alive() && !w_.draining && !close_after_;
}

bool client_session::body_pending() const {
    return !parser_->is_done();
}

bool client_session::body_over_limit() const {
    auto len = parser_->content_length();
    return len && *len > w_.cfg.max_body;
}

// Half-close, then read and discard what the client still sends for a short while, so that unread
// request bytes do not turn the close into a reset that destroys the answer before it is read.
net::awaitable<void> client_session::linger_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (!ec) {
        stream_.tcp().expires_after(std::chrono::seconds(2));
        std::size_t discarded = 0;
        // What is read is thrown away, so every closing connection of the thread shares one sink
        // (a 4 KiB array in this frame would put it over Asio's recycling limit).
        thread_local char sink[4096];
        while (discarded < (1u << 20)) {
            auto [rec, n] = co_await stream_.async_read_some(net::buffer(sink), use_tuple);
            if (rec) break;
            discarded += n;
        }
    }
    stream_.socket().close(ec);
}

// close_notify, and the peer's, within a short deadline; then the socket goes.
net::awaitable<void> client_session::tls_close() {
    stream_.tcp().expires_after(std::chrono::seconds(2));
    co_await stream_.tls()->async_shutdown(use_tuple);
    beast::error_code ignored;
    stream_.socket().close(ignored);
}

}  // namespace shimgate
