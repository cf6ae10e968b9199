// client_session: the connection's lifecycle (handshake, the idle wait, the close), reading and
// dispatching each request head, and the pass-through flow. The translate flow is in
// session_translate.cpp; what the session writes to its client on its own behalf (answers,
// refusals, the 100) and its reads of a body are in session_client.cpp.
#include "net/session.hpp"

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "proxy/answer_head.hpp"
#include "proxy/auth.hpp"
#include "proxy/client_address.hpp"
#include "proxy/errors.hpp"
#include "proxy/forward_headers.hpp"
#include "proxy/framing.hpp"
#include "proxy/path.hpp"
#include "proxy/request_transform.hpp"
#include "proxy/response_rewrite.hpp"
#include "proxy/route.hpp"

namespace shimgate {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::ip::tcp;

namespace {

constexpr std::size_t relay_size = worker::relay_size;
constexpr std::size_t read_size = worker::read_block_size;

// The authority of an absolute-form target ("http://a.example:8080/x" -> "a.example:8080"), else
// "".
std::string_view absolute_authority(std::string_view target) {
    auto scheme_end = target.find("://");
    if (target.empty() || target.front() == '/' || scheme_end == std::string_view::npos) return {};
    std::string_view rest = target.substr(scheme_end + 3);
    return rest.substr(0, rest.find_first_of("/?"));
}

std::optional<std::uint64_t> to_std(boost::optional<std::uint64_t> v) {
    return v ? std::optional<std::uint64_t>(*v) : std::nullopt;
}

}  // namespace

client_session::client_session(worker& w, tcp::socket socket, tls_context_ptr tls)
    : w_(w),
      tls_(std::move(tls)),
      stream_(std::move(socket), w.deadlines, tls_.get()),
      buffer_(pooled_allocator<char>(w.reads)),
      upstream_(w) {
    // A cap on what one connection may hold unparsed: a head within its limits, or a chunk-size
    // line / trailer (which Beast keeps until its CRLF) of reasonable size. Past it, 400.
    buffer_.max_size(
        read_size +
        std::max<std::size_t>(w_.cfg.max_request_line + w_.cfg.max_header_bytes + 4, 64 * 1024));
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ip_ = ep.address().to_string();
    peer_trusted_ = w_.cfg.trusted.contains(peer_ip_);
    w_.sessions.insert(this);  // counted in open_connections by the accept loop
}

client_session::~client_session() {
    return_relay();
    return_scratch();
    w_.sessions.erase(this);
    w_.open_connections.fetch_sub(1, std::memory_order_relaxed);
}

void client_session::close_if_idle() {
    if (idle_) {
        beast::error_code ignored;
        stream_.socket().cancel(ignored);
    }
}

// ---------------------------------------------------------------- lifecycle

net::awaitable<void> client_session::run([[maybe_unused]] std::unique_ptr<client_session> self) {
    if (auto* t = stream_.tls()) {
        stream_.tcp().expires_after(w_.cfg.header_timeout);
        auto [ec] = co_await t->async_handshake(net::ssl::stream_base::server, use_tuple);
        if (ec) {
            beast::error_code ignored;
            stream_.socket().close(ignored);
            co_return;
        }
    }
    while (!w_.draining) {
        upstream_.forget_request();
        // With bytes already reported (the private path: a pipelined or quick next request),
        // read_head reads them at once.
        const bool reported =
            timed_socket::tracks_read_edge && stream_.tcp().readable_edge_pending();
        if (buffer_.size() == 0 && !stream_.tls() && !reported) {
            // Waiting for the next request, here rather than in read_head so that no frame of
            // it is held meanwhile; nor is a receive buffer (10,000 idle keep-alive connections
            // would otherwise keep 16 KiB each): the block goes back to the worker's read pool.
            idle_ = true;
            stream_.tcp().expires_after(w_.cfg.idle_timeout);
            buffer_.shrink_to_fit();
            auto [ec] = co_await stream_.tcp().async_wait_readable(use_tuple);
            // A drain that began while the wait's completion was already queued found nothing
            // to cancel: it is seen here instead.
            if (ec || w_.draining) break;
        }
        const bool have_head = co_await read_head();
        if (have_head) ++w_.metrics.requests_in_flight;
        const next n = have_head ? co_await handle_request() : next::close;
        if (have_head) --w_.metrics.requests_in_flight;
        if (rs_ && rs_->facts.status != 0) {  // something was answered: count and log it
            request_facts& facts = rs_->facts;
            const bool head_read = parser_ && parser_->is_header_done();
            facts.upstream = upstream_.remote();
            // Only the access log reads the client address; empty means the peer's.
            if (w_.access && peer_trusted_ && head_read)
                facts.client_ip = client_address(parser_->get(), peer_ip_, w_.cfg.trusted);
            account_request(w_.metrics, {w_.access, w_.access_lines}, facts,
                            head_read ? &parser_->get() : nullptr, peer_ip_);
        }
        return_relay();    // an idle connection holds no relay buffer,
        return_scratch();  // and no request state
        if (!have_head || n == next::close || close_after_) break;
    }
    if (aborted_) {
        // The answer was cut short: a reset (and no close_notify) so it can never look complete,
        // even when its end would otherwise be marked by the close (HTTP/1.0, no length).
        beast::error_code ignored;
        stream_.socket().set_option(net::socket_base::linger(true, 0), ignored);
        stream_.socket().close(ignored);
    } else if (stream_.tls()) {
        co_await tls_close();
    } else {
        co_await linger_close();
    }
}

// Reads until a whole request head is buffered, enforcing the size limits as bytes arrive and a
// total deadline from the first byte (slowloris). On success the head has been parsed into parser_.
net::awaitable<bool> client_session::read_head() {
    const config& cfg = w_.cfg;
    head_limits limits{cfg.max_request_line, cfg.max_header_bytes, cfg.max_header_fields};
    idle_ = buffer_.size() == 0;
    stream_.tcp().expires_after(idle_ ? cfg.idle_timeout : cfg.header_timeout);
    std::size_t head_end = 0;
    for (;;) {
        std::string_view data = as_view(buffer_.data());
        head_end = find_head_end(data);
        if (head_end != 0) break;
        if (auto v = check_partial_head(data, limits); !v.ok()) {
            idle_ = false;
            co_await refuse(nullptr, error_style::problem, v.status, v.reason, v.kind, false);
            co_return false;
        }
        const auto space =
            buffer_.prepare(std::min(read_size, buffer_.max_size() - buffer_.size()));
        beast::error_code ec;
        std::size_t n = stream_.read_now(space, ec);
        if (ec == net::error::would_block)
            std::tie(ec, n) = co_await stream_.async_read_some(space, use_tuple);
        if (ec) {
            // EOF, reset, or the deadline (the stream closes itself then: nothing can be sent).
            idle_ = false;
            co_return false;
        }
        buffer_.commit(n);
        if (idle_) {
            idle_ = false;
            stream_.tcp().expires_after(cfg.header_timeout);
        }
    }
    idle_ = false;
    // Leading empty lines are allowed before a request line (RFC 9112 §2.2); the parser wants none.
    const std::string_view head = as_view(buffer_.data()).substr(0, head_end);
    std::size_t skip = 0;
    while (head.substr(skip, 2) == "\r\n") skip += 2;

    parser_ = &rs().parser.emplace(rs().head);
    parser_->eager(false);
    parser_->header_limit(static_cast<std::uint32_t>(head_end + 1));
    // The body limit is applied once the route is known, so a 413 speaks the route's dialect.
    parser_->body_limit(boost::none);
    // The parser checks the head's grammar as it splits it (as check_raw_head would), so only the
    // sizes are left; a head it refuses is looked at again, to say what is wrong.
    beast::error_code ec;
    const std::size_t used = parser_->put_head(head.substr(skip), ec);
    head_verdict v =
        ec ? check_raw_head(head, limits) : check_head_limits(head, parser_->get().size(), limits);
    if (ec && v.ok()) v = {400, "malformed request head", refusal_reason::framing};
    if (!v.ok()) {
        co_await refuse(nullptr, error_style::problem, v.status, v.reason, v.kind, false);
        co_return false;
    }
    buffer_.consume(skip + used);
    rq().start = std::chrono::steady_clock::now();
    co_return true;
}

net::awaitable<client_session::next> client_session::handle_request() {
    auto& req = parser_->get();
    head_verdict v = check_request_framing(req);
    if (v.ok()) v = check_expect(req);
    // The chunked body bytes that came with the head: a bad one is refused before anything else.
    if (v.ok() && buffered_chunks_bad())
        v = {400, "malformed chunked body", refusal_reason::framing};
    if (!v.ok())
        co_return co_await refuse(nullptr, error_style::problem, v.status, v.reason, v.kind, false);
    parser_->body_limit(w_.cfg.max_body);  // enforced while reading a chunked body
    choose_request_id(req[request_id_field], w_.ids(), rq().request_id);
    std::string_view target = req.target();
    if (target == "*") co_return co_await pass_through(target);

    auto split = split_request_target(target);
    if (!split || !normalize_path(split->path, rs().path)) {
        co_return co_await refuse(nullptr, error_style::problem, 400, "invalid request target",
                                  refusal_reason::framing, false);
    }
    rule_set_ptr rules = w_.rules;  // this request keeps the rule set it started with
    rq().rules = rules;             // (until it is counted and logged, after it was answered)
    if (rules) {
        match_route(*rules, req.method_string(), rs().path, rs().match);
        if (!rs().match.candidates.empty()) {
            co_return co_await translate(*rules,
                                         split->has_query ? split->query : std::string_view());
        }
    }
    // Absolute-form is forwarded in origin form; anything else exactly as received.
    if (target.front() != '/') {
        std::string origin(split->path);
        if (split->has_query) origin.append("?").append(split->query);
        co_return co_await pass_through(origin);
    }
    co_return co_await pass_through(target);
}

// ---------------------------------------------------------------- pass-through

net::awaitable<client_session::next> client_session::pass_through(std::string_view target) {
    auto& req = parser_->get();
    framing_spec body{};
    std::string_view buffered_body;
    if (body_over_limit()) {
        co_return co_await refuse(nullptr, error_style::problem, exchange_error::body_too_large,
                                  false);
    }
    if (parser_->chunked()) {
        body.kind = body_framing::chunked;
    } else if (auto len = parser_->content_length()) {
        body = {body_framing::length, *len};  // Content-Length: 0 is kept: some upstreams need it
        // A small body is read first, so head and body go upstream in one write (and can be
        // replayed).
        if (*len > 0 && *len <= relay_size) {
            const bool continued = co_await send_continue_if_expected();
            if (!continued) co_return next::close;
            const exchange_error read = co_await read_whole_body(rs().body);
            // Pass-through: a client gone or too slow is not answered, its connection closed.
            if (read == exchange_error::client_gone || read == exchange_error::body_timeout)
                co_return unanswered(read);
            if (read != exchange_error::none)
                co_return co_await refuse(nullptr, error_style::problem, read, false);
            buffered_body = rs().body;
        }
    }
    rs().out.clear();
    std::array<std::string_view, 1> drop{request_id_field};
    std::array<header_pair, 1> add{header_pair{request_id_field, rq().request_id}};
    write_upstream_head(rs().out, req.method_string(), upstream_target(target), req, forwarding(),
                        body, drop, add);
    const bool replayable = upstream_exchange::safe_to_repeat(req.method()) && !body_pending();
    const exchange_error sent = co_await upstream_.send(rs().out, buffered_body, replayable);
    if (sent != exchange_error::none) {
        co_return co_await refuse(nullptr, error_style::problem, sent,
                                  client_keep_alive() && !body_pending());
    }
    if (body_pending()) {
        const bool continued = co_await send_continue_if_expected();
        if (!continued) co_return next::close;
        const exchange_error streamed = co_await upstream_.stream_body(
            stream_, buffer_, *parser_, body.kind == body_framing::chunked, &rs().chunks,
            relay_buffer(), rq().start + w_.cfg.body_timeout, rq().bytes_in);
        // The upstream stopped taking the body: it may have answered early (RFC 9112 §9.6), and
        // that answer is relayed rather than a 502; the client's connection closes after it,
        // since the rest of its body was not read.
        if (streamed == exchange_error::upstream_body_failed) {
            const auto early = std::chrono::steady_clock::now() + w_.cfg.upstream_timeout;
            const exchange_error answered =
                co_await upstream_.read_head(rs(), req.method() == http::verb::head, early);
            if (answered == exchange_error::none) {
                close_after_ = true;
                co_return co_await relay_answer(req.method() == http::verb::head);
            }
        }
        if (streamed != exchange_error::none) {
            upstream_.abandon();  // the upstream connection is never held by a failed body
            close_after_ = true;
            if (streamed == exchange_error::client_gone || streamed == exchange_error::body_timeout)
                co_return unanswered(streamed);
            co_return co_await refuse(nullptr, error_style::problem, streamed, false);
        }
    }
    const bool head_request = req.method() == http::verb::head;
    const auto deadline = std::chrono::steady_clock::now() + w_.cfg.upstream_timeout;
    const exchange_error answered = co_await upstream_.read_head(rs(), head_request, deadline);
    if (answered != exchange_error::none) {
        upstream_.abandon();
        co_return co_await refuse(nullptr, error_style::problem, answered, client_keep_alive());
    }
    co_return co_await relay_answer(head_request);
}

// Streams the upstream's answer to the client as it arrives, re-framed for the client. Each
// piece goes out in one gather write (head + first piece together). If the upstream fails before
// anything was sent, the client gets a 502; after that, its connection is closed so the answer
// can never look complete.
net::awaitable<client_session::next> client_session::relay_answer(bool head_request) {
    const response_head& res = upstream_.answer();
    const unsigned status = res.result_int();
    const unsigned version = parser_->get().version();
    const relay_plan plan =
        plan_relay(head_request, status, to_std(upstream_.parser().content_length()),
                   res[http::field::content_length], version, client_keep_alive());
    rq().upstream_status = status;
    answer_decided(status);
    rs().out.clear();
    std::array<header_pair, 1> echo{header_pair{request_id_field, rq().request_id}};
    const bool has_id = res.contains(request_id_field);
    write_client_head(rs().out, status, res.reason(), &res, plan.framing, plan.keep_alive, version,
                      std::span<const header_pair>(echo.data(), has_id ? 0 : 1));
    if (w_.cfg.server_timing) add_server_timing_field();

    bool head_sent = false;
    char* relay = relay_buffer();
    char size_line[24];
    for (;;) {
        std::size_t got = 0;
        if (!upstream_.answer_done()) {
            beast::error_code ec = upstream_.parse_piece(relay, relay_size);
            if (ec == http::error::need_more) {
                const auto deadline = std::chrono::steady_clock::now() + w_.cfg.upstream_timeout;
                auto [read, n] = co_await upstream_.read_piece(deadline);
                ec = read;
            }
            if (const exchange_error e = upstream_.piece_done(ec, relay_size, got);
                e != exchange_error::none) {
                upstream_.abandon();
                rq().upstream_time = upstream_.elapsed();
                if (!head_sent) co_return co_await refuse(nullptr, error_style::problem, e, false);
                aborted_ = true;
                rq().error = request_error::upstream_reset;  // logged so, never counted as a 2xx
                co_return next::close;
            }
        }
        const bool done = upstream_.answer_done();
        const piece_frame frame =
            frame_piece(plan.framing.kind == body_framing::chunked, got, done, size_line);
        const std::string_view head = head_sent ? std::string_view() : std::string_view(rs().out);
        if (!head.empty() || got || !frame.suffix.empty()) {
            const bool written = co_await write_client(head, frame.prefix,
                                                       std::string_view(relay, got), frame.suffix);
            if (!written) {
                upstream_.abandon();
                co_return next::close;
            }
            head_sent = true;
            rq().bytes_out += got;
        }
        if (done) break;
    }
    rq().upstream_time = upstream_.elapsed();
    upstream_.finish();
    co_return plan.keep_alive ? next::keep_alive : next::close;
}

std::string_view client_session::upstream_target(std::string_view target) {
    const std::string& prefix = w_.cfg.upstream.prefix;
    if (prefix.empty() || target == "*") return target;
    rs().upstream_target.assign(prefix).append(target);
    return rs().upstream_target;
}

forward_info client_session::forwarding() {
    return {peer_ip_, stream_.tls() ? "https" : "http", w_.cfg.upstream.host_header,
            absolute_authority(parser_->get().target()), peer_trusted_};
}

char* client_session::relay_buffer() {
    if (!relay_) relay_ = w_.relays.take();
    return relay_;
}

void client_session::return_relay() noexcept {
    w_.relays.give(relay_);
    relay_ = nullptr;
}

void client_session::take_scratch() {
    rs_ = w_.scratches.take();
}

void client_session::return_scratch() noexcept {
    parser_ = nullptr;  // both parsers live in the scratch
    upstream_.forget_parser();
    if (rs_) {
        rs_->facts = {};  // unpins the request's rule set; the strings keep their capacity
        rs_->parser.reset();
        rs_->upstream_parser.reset();
        rs_->buffered.release();
    }
    w_.scratches.give(std::move(rs_));
}

}  // namespace shimgate
