#include "net/upstream_pool.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>

namespace shimgate {

namespace net = boost::asio;
using tcp = net::ip::tcp;

upstream_pool::upstream_pool(net::io_context& ioc, std::vector<tcp::endpoint> endpoints,
                             std::chrono::milliseconds connect_timeout)
    : ioc_(ioc), endpoints_(std::move(endpoints)), connect_timeout_(connect_timeout) {}

namespace {
// A pooled connection is usable if reading would block: nothing (no EOF, no stray bytes) arrived
// while it idled.
bool still_open(upstream_connection& c) {
    if (c.buffer.size() != 0) return false;
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
        if (now - c->idle_since < max_idle_time_ && still_open(*c)) {
            ++stats_.reuses;
            c->reused = true;
            return c;
        }
        ++stats_.stale_dropped;
        boost::system::error_code ignored;
        c->stream.socket().close(ignored);
    }
    return nullptr;
}

net::awaitable<upstream_connection_ptr> upstream_pool::connect(boost::system::error_code& ec) {
    auto c = std::make_unique<upstream_connection>(ioc_);
    // Beast reads at most the buffer's free capacity at a time: give streamed answers room.
    c->buffer.reserve(64 * 1024);
    c->stream.expires_after(connect_timeout_);
    auto [err, ep] =
        co_await c->stream.async_connect(endpoints_, net::as_tuple(net::use_awaitable));
    c->stream.expires_never();
    ec = err;
    if (ec) {
        ++stats_.connect_failures;
        co_return nullptr;
    }
    ++stats_.connects;
    c->stream.socket().set_option(tcp::no_delay(true), ec);
    ec = {};
    co_return c;
}

void upstream_pool::give_back(upstream_connection_ptr c) {
    if (idle_.size() >= max_idle_) return;  // closed by its destructor
    c->stream.expires_never();
    c->idle_since = std::chrono::steady_clock::now();
    idle_.push_back(std::move(c));
}

void upstream_pool::close_all() {
    idle_.clear();
}

}  // namespace shimgate
