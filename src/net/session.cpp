#include "net/session.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <charconv>
#include <stdexcept>
#include <tuple>

#include "proxy/auth.hpp"
#include "proxy/framing.hpp"
#include "proxy/path.hpp"
#include "proxy/request_transform.hpp"
#include "proxy/response_rewrite.hpp"

namespace shimgate {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::ip::tcp;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

namespace {

constexpr std::size_t relay_size = worker::relay_size;
constexpr std::size_t read_size = worker::read_block_size;
constexpr std::size_t max_upstream_answer = 16 * 1024 * 1024;  // translated answers are read whole
constexpr std::size_t max_upstream_head = 8 * 1024;            // Beast's default header limit

std::string_view as_view(net::const_buffer b) {
    return {static_cast<const char*>(b.data()), b.size()};
}

// "1a2b\r\n" for a chunk of `n` bytes.
std::string_view chunk_header(char (&out)[24], std::size_t n) {
    auto [end, ec] = std::to_chars(out, out + 20, n, 16);
    *end++ = '\r';
    *end++ = '\n';
    return {out, static_cast<std::size_t>(end - out)};
}

// The authority of an absolute-form target ("http://a.example:8080/x" -> "a.example:8080"), else
// "".
std::string_view absolute_authority(std::string_view target) {
    auto scheme_end = target.find("://");
    if (target.empty() || target.front() == '/' || scheme_end == std::string_view::npos) return {};
    std::string_view rest = target.substr(scheme_end + 3);
    return rest.substr(0, rest.find_first_of("/?"));
}

// The refusal family of a status the shim answers itself (where the call site did not say).
refusal_reason reason_for(unsigned status) {
    switch (status) {
        case 401:
            return refusal_reason::auth;
        case 413:
            return refusal_reason::size;
        case 414:
        case 431:
            return refusal_reason::head_too_large;
        case 415:
            return refusal_reason::content_type;
        case 502:
            return refusal_reason::upstream_error;
        case 504:
            return refusal_reason::upstream_timeout;
        default:
            return refusal_reason::framing;
    }
}

constexpr std::string_view request_id_field = "X-Request-Id";
constexpr std::size_t access_batch_bytes = 32 * 1024;

unsigned status_for(beast::error_code ec) {
    return ec == beast::error::timeout ? 504u : 502u;
}

}  // namespace

namespace {
// Writes are split in two so that the usual case costs no coroutine frame: write_at_once puts
// what the socket takes now (plain TCP, usually everything) and says whether anything is left;
// only then does the caller co_await write_rest.
//
// True when nothing is left to do: all of `buffers` written, or failed (`ec` set). False when the
// rest must go asynchronously, `n` bytes having gone (TLS: always, with n = 0).
template <class ConstBuffers>
bool write_at_once(flex_stream& s, const ConstBuffers& buffers, beast::error_code& ec,
                   std::size_t& n) {
    n = s.write_now(buffers, ec);
    if (ec == net::error::would_block) ec = {};
    return ec || n == net::buffer_size(buffers);
}

// Reading a message with a basic_parser without Beast's composed operations (a composed op, its
// work guards and, when the bytes are already buffered, a posted completion per call): what is
// buffered is parsed at once (parse_buffered: no I/O, no coroutine frame), and only when the
// parser wants more does read_and_parse read. Together they give http::async_read_some's
// results: one parse step per call; a close before any byte of the message is end_of_stream; a
// close after some is handed to the parser (it ends a close-delimited body, or is
// partial_message). Used for the client's request bodies; the upstream's answer bodies stay on
// Beast's http::async_read_some, which keeps the soak's p99 under saturation lower (measured,
// cause unknown: docs/architecture.md, "Reading bodies").
template <class DynamicBuffer, bool isRequest>
beast::error_code parse_buffered(DynamicBuffer& b, http::basic_parser<isRequest>& p) {
    if (b.size() == 0) return http::error::need_more;
    beast::error_code ec;
    b.consume(p.put(b.data(), ec));
    return ec;
}

template <class DynamicBuffer, bool isRequest>
net::awaitable<beast::error_code> read_and_parse(flex_stream& s, DynamicBuffer& b,
                                                 http::basic_parser<isRequest>& p) {
    for (;;) {
        const std::size_t size = beast::read_size(b, 65536);
        if (size == 0) co_return http::error::buffer_overflow;
        typename DynamicBuffer::mutable_buffers_type space;
        try {
            space = b.prepare(size);
        } catch (const std::length_error&) {
            co_return http::error::buffer_overflow;
        }
        auto [ec, n] = co_await s.async_read_some(space, use_tuple);
        b.commit(n);
        if (ec == net::error::eof) {
            if (!p.got_some()) co_return http::error::end_of_stream;
            beast::error_code end;
            p.put_eof(end);
            co_return end;
        }
        if (ec) co_return ec;
        if (auto parsed = parse_buffered(b, p); parsed != http::error::need_more) co_return parsed;
    }
}

// The rest of `buffers` after the first `n` bytes; the error and the bytes written in all.
template <class ConstBuffers>
net::awaitable<std::pair<beast::error_code, std::size_t>> write_rest(flex_stream& s,
                                                                     const ConstBuffers& buffers,
                                                                     std::size_t n) {
    beast::buffers_suffix<ConstBuffers> rest(buffers);
    rest.consume(n);
    auto [ec, m] = co_await net::async_write(s, rest, use_tuple);
    co_return std::pair{ec, n + m};
}
}  // namespace

client_session::client_session(worker& w, tcp::socket socket, tls_context_ptr tls)
    : w_(w),
      tls_(std::move(tls)),
      stream_(std::move(socket), w.deadlines, tls_.get()),
      buffer_(pooled_allocator<char>(w.reads)) {
    // A cap on what one connection may hold unparsed: a head within its limits, or a chunk-size
    // line / trailer (which Beast keeps until its CRLF) of reasonable size. Past it, 400.
    buffer_.max_size(
        read_size +
        std::max<std::size_t>(w_.cfg.max_request_line + w_.cfg.max_header_bytes + 4, 64 * 1024));
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ip_ = ep.address().to_string();
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

char* client_session::relay_buffer() {
    if (!relay_) relay_ = w_.relays.take();
    return relay_;
}

void client_session::return_scratch() noexcept {
    parser_ = nullptr;  // both live in the scratch
    up_parser_ = nullptr;
    if (rs_) {
        rs_->parser.reset();
        rs_->upstream_parser.reset();
    }
    w_.scratches.give(std::move(rs_));
}

void client_session::return_relay() noexcept {
    w_.relays.give(relay_);
    relay_ = nullptr;
}

net::awaitable<void> client_session::run() {
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
        rq_ = {};
        if (buffer_.size() == 0 && !stream_.tls()) {
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
        bool have_head = co_await read_head();
        next n = have_head ? co_await handle_request() : next::close;
        if (rq_.status != 0) finish_request();  // something was answered: count and log it
        return_relay();                         // an idle connection holds no relay buffer,
        return_scratch();                       // and no request state
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

// close_notify, and the peer's, within a short deadline; then the socket goes.
net::awaitable<void> client_session::tls_close() {
    stream_.tcp().expires_after(std::chrono::seconds(2));
    co_await stream_.tls()->async_shutdown(use_tuple);
    beast::error_code ignored;
    stream_.socket().close(ignored);
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
            co_await refuse(nullptr, error_style::problem, v.status, v.reason, false);
            co_return false;
        }
        auto [ec, n] = co_await stream_.async_read_some(
            buffer_.prepare(std::min(read_size, buffer_.max_size() - buffer_.size())), use_tuple);
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
    if (ec && v.ok()) v = {400, "malformed request head"};
    if (!v.ok()) {
        co_await refuse(nullptr, error_style::problem, v.status, v.reason, false);
        co_return false;
    }
    buffer_.consume(skip + used);
    rq_.start = std::chrono::steady_clock::now();
    co_return true;
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

net::awaitable<client_session::next> client_session::handle_request() {
    auto& req = parser_->get();
    if (auto v = check_request_framing(req); !v.ok()) {
        co_return co_await refuse(nullptr, error_style::problem, v.status, v.reason, false);
    }
    if (auto expect = req[http::field::expect]; !expect.empty()) {
        if (!iequals_ascii(expect, "100-continue") || req.version() != 11) {
            co_return co_await refuse(nullptr, error_style::problem, 417, "unsupported Expect",
                                      false);
        }
    }
    parser_->body_limit(w_.cfg.max_body);  // enforced while reading a chunked body
    choose_request_id(req[request_id_field]);
    std::string_view target = req.target();
    if (target == "*") co_return co_await pass_through(target);

    auto split = split_request_target(target);
    if (!split || !normalize_path(split->path, rs().path)) {
        co_return co_await refuse(nullptr, error_style::problem, 400, "invalid request target",
                                  false);
    }
    rule_set_ptr rules = w_.rules;  // this request keeps the rule set it started with
    rq_.rules = rules;              // (until it is counted and logged, after it was answered)
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

bool client_session::continue_expected() const {
    return buffer_.size() == 0 && !parser_->get()[http::field::expect].empty() && body_pending();
}

net::awaitable<bool> client_session::send_continue() {
    co_return co_await write_client("HTTP/1.1 100 Continue\r\n\r\n");
}

net::awaitable<client_session::next> client_session::pass_through(std::string_view target) {
    auto& req = parser_->get();
    const config& cfg = w_.cfg;
    framing_spec body{};
    std::string_view buffered_body;
    if (body_over_limit()) {
        co_return co_await refuse(nullptr, error_style::problem, 413, "request body over the limit",
                                  false);
    }
    if (parser_->chunked()) {
        body.kind = body_framing::chunked;
    } else if (auto len = parser_->content_length()) {
        body = {body_framing::length, *len};  // Content-Length: 0 is kept: some upstreams need it
        // A small body is read first, so head and body go upstream in one write (and can be
        // replayed).
        if (*len > 0 && *len <= relay_size) {
            if (continue_expected() && !co_await send_continue()) co_return next::close;
            if (auto st = co_await read_whole_body(rs().body); st != 0) {
                co_return co_await refuse(
                    nullptr, error_style::problem, st,
                    st == 413 ? "request body over the limit" : "request body incomplete", false);
            }
            buffered_body = rs().body;
        }
    }
    std::string_view upstream_target = target;
    if (!cfg.upstream.prefix.empty() && target != "*") {
        rs().upstream_target.assign(cfg.upstream.prefix).append(target);
        upstream_target = rs().upstream_target;
    }
    rs().out.clear();
    forward_info info{peer_ip_, stream_.tls() ? "https" : "http", cfg.upstream.host_header,
                      absolute_authority(req.target())};
    std::array<std::string_view, 1> drop{request_id_field};
    std::array<header_pair, 1> add{header_pair{request_id_field, rq_.request_id}};
    write_upstream_head(rs().out, req.method_string(), upstream_target, req, info, body, drop, add);
    if (auto st = co_await send_upstream(rs().out, buffered_body); st != 0) {
        co_return co_await refuse(nullptr, error_style::problem, st,
                                  st == 504 ? "upstream timed out" : "upstream unreachable",
                                  client_keep_alive() && !body_pending());
    }
    if (body_pending()) {
        if (continue_expected() && !co_await send_continue()) co_return next::close;
        if (auto st = co_await stream_request_body(body.kind == body_framing::chunked); st != 0) {
            up_.reset();
            if (st == 1) co_return next::close;  // the client went away
            std::string_view why = st == 413   ? "request body over the limit"
                                   : st == 400 ? "malformed chunked body"
                                               : "upstream failed while receiving the body";
            co_return co_await refuse(nullptr, error_style::problem, st, why, false);
        }
    }
    bool head_request = req.method() == http::verb::head;
    auto deadline = std::chrono::steady_clock::now() + cfg.upstream_timeout;
    if (auto st = co_await read_upstream_head(head_request, deadline); st != 0) {
        up_.reset();
        co_return co_await refuse(nullptr, error_style::problem, st,
                                  st == 504 ? "upstream timed out" : "upstream failed",
                                  client_keep_alive());
    }
    co_return co_await relay_response(head_request);
}

// Streams the upstream's answer to the client as it arrives, re-framed for the client. Each
// piece goes out in one gather write (head + first piece together). If the upstream fails before
// anything was sent, the client gets a 502; after that, its connection is closed so the answer
// can never look complete.
net::awaitable<client_session::next> client_session::relay_response(bool head_request) {
    auto& res = up_parser_->get();
    unsigned status = res.result_int();
    framing_spec framing{};
    bool keep_alive = client_keep_alive();
    unsigned version = parser_->get().version();
    bool no_body =
        head_request || status == 204 || status == 304 || (status >= 100 && status < 200);
    if (no_body) {
        if (head_request) {
            auto cl = res[http::field::content_length];
            std::uint64_t n = 0;
            if (!cl.empty() &&
                std::from_chars(cl.data(), cl.data() + cl.size(), n).ec == std::errc())
                framing = {body_framing::length, n};
        }
    } else if (auto len = up_parser_->content_length()) {
        framing = {body_framing::length, *len};
    } else if (version == 11) {
        framing.kind = body_framing::chunked;
    } else {
        framing.kind = body_framing::until_close;
        keep_alive = false;
    }
    rq_.upstream_status = status;
    rq_.status = status;
    rs().out.clear();
    std::array<header_pair, 1> echo{header_pair{request_id_field, rq_.request_id}};
    bool has_id = res.contains(request_id_field);
    write_client_head(rs().out, status, res.reason(), &res, framing, keep_alive, version,
                      std::span<const header_pair>(echo.data(), has_id ? 0 : 1));

    bool head_sent = false;
    char* relay = relay_buffer();
    char size_line[24];
    for (;;) {
        std::size_t got = 0;
        if (!up_parser_->is_done()) {
            up_parser_->lend_body_buffer(relay, relay_size);
            up_->stream.tcp().expires_after(w_.cfg.upstream_timeout);
            auto [ec, n] =
                co_await http::async_read_some(up_->stream, up_->buffer, *up_parser_, use_tuple);
            if (ec == http::error::need_buffer) ec = {};
            got = relay_size - up_parser_->body_left();
            if (ec && !(ec == http::error::end_of_stream && up_parser_->is_done())) {
                up_.reset();
                rq_.upstream_time = std::chrono::steady_clock::now() - rq_.upstream_start;
                if (!head_sent) {
                    co_return co_await refuse(nullptr, error_style::problem, status_for(ec),
                                              "upstream failed mid-answer", false);
                }
                aborted_ = true;
                co_return next::close;
            }
        }
        bool done = up_parser_->is_done();
        bool chunked = framing.kind == body_framing::chunked;
        std::string_view head = head_sent ? std::string_view() : std::string_view(rs().out);
        std::string_view data(relay, got);
        std::string_view prefix =
            chunked && got ? chunk_header(size_line, got) : std::string_view();
        std::string_view suffix;
        if (chunked) suffix = got ? (done ? "\r\n0\r\n\r\n" : "\r\n") : (done ? "0\r\n\r\n" : "");
        if (!head.empty() || got || !suffix.empty()) {
            if (!co_await write_client(head, prefix, data, suffix)) {
                up_.reset();
                co_return next::close;
            }
            head_sent = true;
            rq_.bytes_out += got;
        }
        if (done) break;
    }
    rq_.upstream_time = std::chrono::steady_clock::now() - rq_.upstream_start;
    finish_upstream();
    co_return keep_alive ? next::keep_alive : next::close;
}

// A coroutine frame over Asio's recycling limit (about 1 KiB) is malloc'ed and freed on every
// call, so what needs no suspension (messages, the upstream head) is built outside this frame:
// the messages in rs().why, the head by write_translated_head.
net::awaitable<client_session::next> client_session::translate(const rule_set& rules,
                                                               std::string_view query) {
    auto& req = parser_->get();
    const path_match& match = rs().match;
    const rule* first = match.candidates.front();
    // Header-level checks first (credential, Content-Type, declared size): a refused request is
    // answered without reading its body.
    rq_.r = first;
    auto token = authenticate(*first, req);
    if (!token) {
        co_return co_await refuse(first, first->errors, token.error().status, token.error().message,
                                  !body_pending(), refusal_reason::auth);
    }
    if (first->deprecation.enabled) {
        w_.migration.record(first->name, token.value(), std::chrono::system_clock::now());
    }
    if (auto why = check_content_type(req)) {
        co_return co_await refuse(first, first->errors, why->status, why->message, !body_pending());
    }
    if (auto enc = req[http::field::content_encoding];
        !enc.empty() && !iequals_ascii(enc, "identity")) {
        // The body is read and rewritten as JSON text: an encoded one would be read two ways.
        rs().why.assign("unsupported Content-Encoding \"").append(enc).append("\": send identity");
        co_return co_await refuse(first, first->errors, 415, rs().why, !body_pending());
    }
    if (body_over_limit()) {
        set_body_limit_message();
        co_return co_await refuse(first, first->errors, 413, rs().why, false);
    }
    if (continue_expected() && !co_await send_continue()) co_return next::close;
    if (auto st = co_await read_whole_body(rs().body); st != 0) {
        if (st == 413) {
            set_body_limit_message();
        } else {
            rs().why.assign("request body incomplete");
        }
        co_return co_await refuse(first, first->errors, st, rs().why, false);
    }
    const body_choice choice = select_by_body(match, rs().body, w_.json);
    const rule* r = choice.picked;
    rq_.r = r;
    upstream_call& call = rs().call;  // reused: no allocation per request once grown
    if (auto refused =
            transform_request(*r, match.params, token.value(), query, choice.body, w_.json, call)) {
        const refusal& why = *refused;
        refusal_reason reason = why.message.starts_with("malformed JSON") ||
                                        why.message.find("duplicate") != std::string::npos
                                    ? refusal_reason::bad_json
                                    : refusal_reason::type;
        co_return co_await refuse(r, r->errors, why.status, why.message, client_keep_alive(),
                                  reason);
    }

    write_translated_head(rules, call);
    if (auto st = co_await send_upstream(rs().out, call.body); st != 0) {
        co_return co_await refuse(r, r->errors, st,
                                  st == 504 ? "upstream timed out" : "upstream unreachable",
                                  client_keep_alive());
    }
    // One deadline for the whole answer: a rewritten answer is read whole, so a trickle of bytes
    // must not stretch it.
    auto deadline = std::chrono::steady_clock::now() + w_.cfg.upstream_timeout;
    unsigned st = co_await read_upstream_head(false, deadline);
    if (st == 0) {
        auto enc = up_parser_->get()[http::field::content_encoding];
        if (!enc.empty() && !iequals_ascii(enc, "identity")) {
            up_.reset();
            st = 502;
        } else {
            st = co_await read_upstream_body(rs().upstream_body, max_upstream_answer, deadline);
        }
    }
    if (st != 0) {
        up_.reset();
        co_return co_await refuse(r, r->errors, st,
                                  st == 504 ? "upstream timed out" : "upstream failed",
                                  client_keep_alive());
    }
    unsigned upstream_status = up_parser_->get().result_int();
    rq_.upstream_status = upstream_status;
    rq_.upstream_time = std::chrono::steady_clock::now() - rq_.upstream_start;
    finish_upstream();
    client_answer& a = rs().answer;  // reused, like rs().call
    rewrite_response(*r, upstream_status, rs().upstream_body, w_.json, a);
    if (a.status == 502) w_.metrics.count_refusal(refusal_reason::upstream_error);
    co_return co_await answer(a.status, a.content_type, a.body, r, client_keep_alive());
}

void client_session::set_body_limit_message() {
    rs().why.assign("request body over the limit of ")
        .append(std::to_string(w_.cfg.max_body))
        .append(" bytes");
}

// The upstream head of a translated call, into rs().out.
void client_session::write_translated_head(const rule_set& rules, const upstream_call& call) {
    const config& cfg = w_.cfg;
    std::string_view target = call.target;
    if (!cfg.upstream.prefix.empty()) {
        rs().upstream_target.assign(cfg.upstream.prefix).append(call.target);
        target = rs().upstream_target;
    }
    // The body is new: what described the client's body goes; so does every credential header any
    // dialect knows, so exactly one credential (the canonical one) reaches the upstream.
    std::array<std::string_view, 6> fixed_drop{"content-type",     "accept-encoding",
                                               "content-encoding", "content-digest",
                                               "digest",           "content-md5"};
    std::vector<std::string_view>& drop = rs().drop;  // reused: no allocation per request
    drop.assign(fixed_drop.begin(), fixed_drop.end());
    drop.insert(drop.end(), rules.credential_headers.begin(), rules.credential_headers.end());
    drop.push_back(request_id_field);
    std::array<header_pair, 4> add{header_pair{call.auth_header, call.auth_value},
                                   header_pair{"Content-Type", "application/json"},
                                   header_pair{"Accept-Encoding", "identity"},
                                   header_pair{request_id_field, rq_.request_id}};
    const request_head& req = parser_->get();
    rs().out.clear();
    forward_info info{peer_ip_, stream_.tls() ? "https" : "http", cfg.upstream.host_header,
                      absolute_authority(req.target())};
    write_upstream_head(rs().out, call.method, target, req, info,
                        {body_framing::length, call.body.size()}, drop, add);
}

net::awaitable<unsigned> client_session::read_whole_body(std::string& out) {
    out.clear();
    if (auto len = parser_->content_length()) out.reserve(*len);
    char* relay = relay_buffer();
    while (!parser_->is_done()) {
        parser_->lend_body_buffer(relay, relay_size);
        stream_.tcp().expires_after(w_.cfg.idle_timeout);
        beast::error_code ec = parse_buffered(buffer_, *parser_);
        if (ec == http::error::need_more) ec = co_await read_and_parse(stream_, buffer_, *parser_);
        if (ec == http::error::need_buffer) ec = {};
        out.append(relay, relay_size - parser_->body_left());
        rq_.bytes_in = out.size();
        if (ec == http::error::body_limit) co_return 413u;
        if (ec) co_return 400u;
    }
    co_return 0u;
}

// Head (and a body held in memory) in one write. A pooled connection that fails before any byte
// was written is retried once on a fresh one; nothing is retried after that.
net::awaitable<unsigned> client_session::send_upstream(std::string_view head,
                                                       std::string_view body) {
    rq_.upstream_start = std::chrono::steady_clock::now();
    for (int attempt = 0; attempt < 2; ++attempt) {
        up_ = attempt == 0 ? w_.pool.take_idle() : nullptr;
        if (!up_) {
            beast::error_code ec;
            up_ = co_await w_.pool.connect(ec);
            if (ec) co_return status_for(ec);
        }
        up_->stream.tcp().expires_after(w_.cfg.upstream_timeout);
        std::array<net::const_buffer, 2> bufs{net::buffer(head), net::buffer(body)};
        beast::error_code ec;
        std::size_t n = 0;
        if (!write_at_once(up_->stream, bufs, ec, n))
            std::tie(ec, n) = co_await write_rest(up_->stream, bufs, n);
        if (!ec) co_return 0u;
        bool retry = up_->reused && n == 0;
        up_.reset();
        if (!retry) co_return status_for(ec);
    }
    co_return 502u;
}

// 0 on success, 1 if the client failed (nothing more can be said to it), else a status to answer.
net::awaitable<unsigned> client_session::stream_request_body(bool chunked) {
    char* relay = relay_buffer();
    char size_line[24];
    while (!parser_->is_done()) {
        parser_->lend_body_buffer(relay, relay_size);
        stream_.tcp().expires_after(w_.cfg.idle_timeout);
        beast::error_code ec = parse_buffered(buffer_, *parser_);
        if (ec == http::error::need_more) ec = co_await read_and_parse(stream_, buffer_, *parser_);
        if (ec == http::error::need_buffer) ec = {};
        if (ec == http::error::body_limit) co_return 413u;
        if (ec && ec.category() == http::make_error_code(http::error::bad_chunk).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message) {
            co_return 400u;  // bad chunked framing
        }
        if (ec) {
            close_after_ = true;
            co_return 1u;  // the client went away or its socket failed
        }
        std::size_t got = relay_size - parser_->body_left();
        rq_.bytes_in += got;
        bool done = parser_->is_done();
        std::string_view prefix =
            chunked && got ? chunk_header(size_line, got) : std::string_view();
        std::string_view suffix;
        if (chunked) suffix = got ? (done ? "\r\n0\r\n\r\n" : "\r\n") : (done ? "0\r\n\r\n" : "");
        std::array<net::const_buffer, 3> bufs{net::buffer(prefix), net::buffer(relay, got),
                                              net::buffer(suffix)};
        up_->stream.tcp().expires_after(w_.cfg.upstream_timeout);
        beast::error_code wec;
        std::size_t wn = 0;
        if (!write_at_once(up_->stream, bufs, wec, wn))
            std::tie(wec, wn) = co_await write_rest(up_->stream, bufs, wn);
        if (wec) {
            close_after_ = true;
            co_return status_for(wec);
        }
    }
    co_return 0u;
}

net::awaitable<unsigned> client_session::read_upstream_head(bool head_request,
                                                            steady_time deadline) {
    up_->stream.tcp().expires_at(deadline);
    for (;;) {
        up_parser_ = &rs().upstream_parser.emplace(rs().upstream_head);
        up_parser_->body_limit(boost::none);
        if (head_request) up_parser_->skip(true);
        up_parser_->eager(false);  // the head alone, as http::async_read_header
        // The head is gathered whole, then parsed from the copy rs().upstream_head keeps (its
        // fields are views into that copy). Over Beast's default header limit, as before: 502.
        std::size_t end = 0;
        while ((end = find_head_end(as_view(up_->buffer.data()))) == 0) {
            if (up_->buffer.size() > max_upstream_head) co_return 502u;
            auto [ec, n] = co_await up_->stream.async_read_some(
                up_->buffer.prepare(beast::read_size(up_->buffer, 65536)), use_tuple);
            up_->buffer.commit(n);
            if (ec) co_return status_for(ec);  // a close before the whole head: 502
        }
        if (end > max_upstream_head) co_return 502u;
        beast::error_code ec;
        std::size_t used = up_parser_->put_head(as_view(up_->buffer.data()).substr(0, end), ec);
        up_->buffer.consume(used);
        if (ec || !up_parser_->is_header_done()) co_return 502u;
        unsigned status = up_parser_->get().result_int();
        if (status == 101)
            co_return 502u;  // Upgrade is never forwarded, so a switch is a protocol error
        if (status >= 200) {
            // Only chunked is a transfer coding the shim can re-frame; anything else (gzip, ...)
            // would reach the client as if it were the content.
            auto te = up_parser_->get()[http::field::transfer_encoding];
            if (!te.empty() && !iequals_ascii(te, "chunked")) co_return 502u;
            co_return 0u;
        }
        // 1xx interim answers are consumed here; the final one follows.
    }
}

net::awaitable<unsigned> client_session::read_upstream_body(std::string& out, std::size_t limit,
                                                            steady_time deadline) {
    out.clear();
    if (auto len = up_parser_->content_length()) {
        if (*len > limit) co_return 502u;
        out.reserve(*len);
    }
    char* relay = relay_buffer();
    while (!up_parser_->is_done()) {
        up_parser_->lend_body_buffer(relay, relay_size);
        up_->stream.tcp().expires_at(deadline);
        auto [ec, n] =
            co_await http::async_read_some(up_->stream, up_->buffer, *up_parser_, use_tuple);
        if (ec == http::error::need_buffer) ec = {};
        out.append(relay, relay_size - up_parser_->body_left());
        if (ec && !(ec == http::error::end_of_stream && up_parser_->is_done()))
            co_return status_for(ec);
        if (out.size() > limit) co_return 502u;
    }
    co_return 0u;
}

// The upstream connection goes back to the pool only after a complete answer it allows to reuse.
void client_session::finish_upstream() {
    if (up_ && up_parser_ && up_parser_->is_done() && up_parser_->keep_alive() &&
        up_->buffer.size() == 0 && !w_.draining) {
        w_.pool.give_back(std::move(up_));
    }
    up_.reset();
}

net::awaitable<client_session::next> client_session::answer(
    unsigned status, std::string_view content_type, std::string_view body, const rule* r,
    bool keep_alive, std::string_view extra_name, std::string_view extra_value) {
    keep_alive = keep_alive && !close_after_ && parser_ && client_keep_alive();
    if (rq_.request_id.empty()) choose_request_id({});
    rq_.status = status;
    rq_.bytes_out = body.size();
    write_answer_head(status, content_type, body.size(), r, keep_alive, extra_name, extra_value);
    std::array<net::const_buffer, 2> bufs{net::buffer(rs().out), net::buffer(body)};
    stream_.tcp().expires_after(w_.cfg.idle_timeout);
    beast::error_code ec;
    std::size_t n = 0;
    if (!write_at_once(stream_, bufs, ec, n))
        std::tie(ec, n) = co_await write_rest(stream_, bufs, n);
    if (ec) co_return next::close;
    co_return keep_alive ? next::keep_alive : next::close;
}

// The head of the shim's own answer (translated or refused), into rs().out.
void client_session::write_answer_head(unsigned status, std::string_view content_type,
                                       std::size_t body_size, const rule* r, bool keep_alive,
                                       std::string_view extra_name, std::string_view extra_value) {
    std::array<header_pair, 6> add{};
    std::size_t n = 0;
    add[n++] = {"Content-Type", content_type};
    add[n++] = {request_id_field, rq_.request_id};
    if (!extra_name.empty()) add[n++] = {extra_name, extra_value};
    char deprecation[24];
    if (r && r->deprecation.enabled) {
        deprecation[0] = '@';
        auto [end, ec] = std::to_chars(deprecation + 1, deprecation + sizeof deprecation,
                                       r->deprecation.deprecation_unix);
        add[n++] = {"Deprecation",
                    std::string_view(deprecation, static_cast<std::size_t>(end - deprecation))};
        if (!r->deprecation.sunset.empty()) add[n++] = {"Sunset", r->deprecation.sunset};
        if (!r->deprecation.successor.empty()) {
            rs().link.assign("<")
                .append(r->deprecation.successor)
                .append(">; rel=\"successor-version\"");
            add[n++] = {"Link", rs().link};
        }
    }
    rs().out.clear();
    unsigned version = parser_ ? parser_->get().version() : 11;
    write_client_head(rs().out, status, {}, nullptr, {body_framing::length, body_size}, keep_alive,
                      version, std::span<const header_pair>(add.data(), n));
}

net::awaitable<client_session::next> client_session::refuse(const rule* r, error_style style,
                                                            unsigned status,
                                                            std::string_view message,
                                                            bool keep_alive,
                                                            refusal_reason reason) {
    if (!keep_alive) close_after_ = true;
    if (reason == refusal_reason::count_) reason = reason_for(status);
    w_.metrics.count_refusal(reason);
    refusal why{status, std::string(message)};
    client_answer a = render_refusal(style, why);
    std::string challenge;
    if (why.status == 401 && r) {
        for (const auto& src : r->accept) {
            for (const auto& scheme : src.schemes) {
                if (challenge.find(scheme) != std::string::npos) continue;
                if (!challenge.empty()) challenge += ", ";
                challenge += scheme + " realm=\"shimgate\"";
            }
        }
    }
    co_return co_await answer(
        a.status, a.content_type, a.body, r, keep_alive,
        challenge.empty() ? std::string_view() : std::string_view("WWW-Authenticate"), challenge);
}

net::awaitable<bool> client_session::write_client(std::string_view a, std::string_view b,
                                                  std::string_view c, std::string_view d) {
    std::array<net::const_buffer, 4> bufs{net::buffer(a), net::buffer(b), net::buffer(c),
                                          net::buffer(d)};
    stream_.tcp().expires_after(w_.cfg.idle_timeout);
    beast::error_code ec;
    std::size_t n = 0;
    if (!write_at_once(stream_, bufs, ec, n))
        std::tie(ec, n) = co_await write_rest(stream_, bufs, n);
    co_return !ec;
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

// X-Request-Id: the client's if it is a sane token (1..128 of [A-Za-z0-9._:-]), else a new one.
void client_session::choose_request_id(std::string_view incoming) {
    auto sane = [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '-' || c == '_' || c == '.' || c == ':';
    };
    if (!incoming.empty() && incoming.size() <= 128 &&
        std::all_of(incoming.begin(), incoming.end(), sane)) {
        rq_.request_id.assign(incoming);
        return;
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::uint64_t v = w_.ids();
    rq_.request_id.resize(16);
    for (char& c : rq_.request_id) {
        c = hex[v & 0xf];
        v >>= 4;
    }
}

// The end of one request: its metrics, and its access-log line (appended to the worker's buffer,
// handed to the writer thread in batches).
void client_session::finish_request() {
    auto now = std::chrono::steady_clock::now();
    if (rq_.start == std::chrono::steady_clock::time_point{}) rq_.start = now;
    static const std::string none;
    const std::string& rule_name = rq_.r ? rq_.r->name : none;
    const std::string& dialect = rq_.r ? rq_.r->dialect : none;
    w_.metrics.count_request(rule_name, dialect, rq_.status);
    w_.metrics.total_latency.observe(now - rq_.start);
    if (rq_.upstream_time.count() > 0) w_.metrics.upstream_latency.observe(rq_.upstream_time);
    if (!w_.access) return;
    access_record rec;
    rec.time = std::chrono::system_clock::now() -
               std::chrono::duration_cast<std::chrono::system_clock::duration>(now - rq_.start);
    rec.peer = peer_ip_;
    if (parser_ && parser_->is_header_done()) {
        const auto& req = parser_->get();
        rec.method = req.method_string();
        rec.path = req.target().substr(0, req.target().find('?'));
    } else {
        rec.method = "-";
        rec.path = "-";
    }
    rec.rule = rule_name;
    rec.dialect = dialect;
    rec.status = rq_.status;
    rec.upstream_status = rq_.upstream_status;
    rec.bytes_in = rq_.bytes_in;
    rec.bytes_out = rq_.bytes_out;
    rec.duration = std::chrono::duration_cast<std::chrono::microseconds>(now - rq_.start);
    rec.upstream_duration =
        std::chrono::duration_cast<std::chrono::microseconds>(rq_.upstream_time);
    rec.request_id = rq_.request_id;
    append_access_record(w_.access_lines, rec);
    if (w_.access_lines.size() >= access_batch_bytes) w_.access->submit(w_.access_lines);
}

}  // namespace shimgate
