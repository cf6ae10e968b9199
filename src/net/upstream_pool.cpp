#include "net/upstream_pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <cerrno>

#include "observe/log.hpp"
#include "proxy/keep_alive.hpp"

namespace shimgate {

namespace net = boost::asio;
using tcp = net::ip::tcp;

upstream_pool::upstream_pool(net::io_context& ioc, timed_socket_list& deadlines,
                             std::vector<tcp::endpoint> endpoints,
                             std::chrono::milliseconds connect_timeout,
                             std::chrono::milliseconds idle_timeout,
                             std::chrono::milliseconds eject_time, tls_context_ptr tls,
                             std::string host)
    : ioc_(ioc),
      deadlines_(deadlines),
      addresses_(std::move(endpoints), eject_time),
      connect_timeout_(connect_timeout),
      idle_timeout_(idle_timeout),
      tls_(std::move(tls)),
      host_(std::move(host)) {}

upstream_pool::~upstream_pool() {
    if (session_) SSL_SESSION_free(session_);
}

namespace {
// Beast reads at most the buffer's free capacity at a time: give streamed answers room.
constexpr std::size_t read_reserve = 64 * 1024;
// What an answer may hold unparsed: a head, or a chunk-size line / trailer. Past it, 502.
constexpr std::size_t read_limit = 256 * 1024;
}  // namespace

namespace {
// An idle connection is usable if nothing (no close, no stray bytes) arrived while it idled: known
// without a system call when no readable edge came since its answer was read (the usual case);
// otherwise one non-blocking peek tells (an edge may have been a TLS ticket, or spurious).
bool still_open(upstream_connection& c) {
    if (!c.stream.tcp().readable_edge_pending()) return true;
    char byte;
    auto n = ::recv(c.stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
}  // namespace

upstream_connection_ptr upstream_pool::take_idle() {
    auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
        upstream_connection_ptr c = std::move(idle_.back());
        idle_.pop_back();
        auto* t = c->stream.tls();
        if (now < c->idle_until && !c->stream.tcp().expired() && c->buffer.size() == 0 &&
            !(t && SSL_pending(t->native_handle()) != 0) && still_open(*c)) {
            ++stats_.reuses;
            c->reused = true;
            return c;
        }
        ++stats_.stale_dropped;
    }
    return nullptr;
}

net::awaitable<upstream_connection_ptr> upstream_pool::connect(boost::system::error_code& ec) {
    auto c = std::make_unique<upstream_connection>(tcp::socket(ioc_), deadlines_, tls_.get());
    c->buffer.max_size(read_limit);
    c->buffer.reserve(read_reserve);
    timed_socket& t = c->stream.tcp();
    t.expires_after(connect_timeout_);
    ec = net::error::host_not_found;
    for (std::size_t attempt = 0; attempt < addresses_.size(); ++attempt) {
        const tcp::endpoint* next = addresses_.next(std::chrono::steady_clock::now());
        const tcp::endpoint ep = *next;  // the list may change while the connect waits
        boost::system::error_code ignored;
        t.socket().close(ignored);
        t.socket().open(ep.protocol(), ec);
        if (ec) continue;
        auto [err] = co_await t.socket().async_connect(ep, net::as_tuple(net::use_awaitable));
        ec = err;
        if (t.expired()) ec = boost::beast::error::timeout;
        if (!ec) break;
        addresses_.eject(ep, std::chrono::steady_clock::now());  // refused, timed out, ...
        if (t.expired()) break;                                  // the connect deadline is spent
    }
    if (ec) {
        ++stats_.connect_failures;
        co_return nullptr;
    }
    t.socket().set_option(tcp::no_delay(true), ec);
    t.socket().non_blocking(true, ec);
    t.watch_peer_close();
    ec = {};
    if (!tls_) {
        t.expires_never();
        ++stats_.connects;
        co_return c;
    }
    // The TLS handshake runs under what is left of the connect deadline.
    SSL* ssl = c->stream.tls()->native_handle();
    prepare_upstream_ssl(ssl, host_);
    if (session_) SSL_set_session(ssl, session_);
    auto [hec] = co_await c->stream.tls()->async_handshake(net::ssl::stream_base::client,
                                                           net::as_tuple(net::use_awaitable));
    t.expires_never();
    if (hec) {
        ec = hec;
        ++stats_.connect_failures;
        log_error("upstream TLS handshake with " + host_ +
                  " failed: " + tls_failure_reason(ssl, hec));
        co_return nullptr;
    }
    if (SSL_session_reused(ssl)) ++stats_.tls_resumed;
    ++stats_.connects;
    co_return c;
}

void upstream_pool::give_back(upstream_connection_ptr c, std::string_view keep_alive) {
    std::chrono::milliseconds limit = idle_timeout_;
    if (!keep_alive.empty()) {
        // The upstream closes after N s idle: stay a second under it, so that a close and a
        // request never cross on the wire. N <= 1 leaves no time at all.
        if (const auto n = parse_keep_alive(keep_alive).timeout) {
            if (*n <= 1) return;  // closed by its destructor
            limit = std::min(limit, std::chrono::milliseconds(std::chrono::seconds(*n - 1)));
        }
    }
    if (auto* t = c->stream.tls()) {
        // After a whole exchange any TLS 1.3 ticket has been read: keep the session for resumption.
        if (SSL_SESSION* s = SSL_get1_session(t->native_handle())) {
            if (SSL_SESSION_is_resumable(s) && s != session_) {
                if (session_) SSL_SESSION_free(session_);
                session_ = s;
            } else {
                SSL_SESSION_free(s);
            }
        }
    }
    // The deadline sweep forgets closed connections; a full pool looks for them itself first.
    if (idle_.size() >= max_idle_) drop_closed();
    if (idle_.size() >= max_idle_) return;  // closed by its destructor
    // The worker's deadline sweep closes the socket when its idle time is up, traffic or not.
    c->idle_until = std::chrono::steady_clock::now() + limit;
    c->stream.tcp().expires_at(c->idle_until);
    idle_.push_back(std::move(c));
}

void upstream_pool::drop_closed() noexcept {
    const auto gone =
        std::remove_if(idle_.begin(), idle_.end(),
                       [](const upstream_connection_ptr& c) { return c->stream.tcp().expired(); });
    stats_.stale_dropped += static_cast<std::uint64_t>(idle_.end() - gone);
    idle_.erase(gone, idle_.end());
}

void upstream_pool::close_all() {
    idle_.clear();
}

}  // namespace shimgate
