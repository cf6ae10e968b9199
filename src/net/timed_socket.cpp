#include "net/timed_socket.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <cstdint>

namespace shimgate {

// Reaching Asio's per-descriptor reactor state. The socket's implementation is a protected member
// of basic_socket (named through a derived class); the epoll reactor's members used here are
// private or protected: an explicit instantiation may name them, and hands their addresses to
// friend functions. The compiler checks every name and type against Boost 1.81; another reactor
// (io_uring, kqueue) builds the fallback, where reads stay speculative and idle pooled connections
// are always peeked at.
#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
namespace {
using reactor = boost::asio::detail::epoll_reactor;
using descriptor_state = reactor::descriptor_state;

template <class Tag, typename Tag::type Member>
struct expose {
    friend typename Tag::type member_of(Tag) { return Member; }
};
#define SHIMGATE_EXPOSE(tag, type_, member) \
    struct tag {                            \
        using type = type_;                 \
        friend type member_of(tag);         \
    };                                      \
    template struct expose<tag, &member>

SHIMGATE_EXPOSE(speculative_tag, bool (descriptor_state::*)[reactor::max_ops],
                descriptor_state::try_speculative_);
SHIMGATE_EXPOSE(events_tag, std::uint32_t descriptor_state::*,
                descriptor_state::registered_events_);
SHIMGATE_EXPOSE(reactor_tag, reactor* descriptor_state::*, descriptor_state::reactor_);
SHIMGATE_EXPOSE(epoll_fd_tag, int reactor::*, reactor::epoll_fd_);
// The events of the descriptor's latest report (scheduler_operation::task_result_).
SHIMGATE_EXPOSE(reported_tag, unsigned int boost::asio::detail::scheduler_operation::*,
                boost::asio::detail::scheduler_operation::task_result_);
#undef SHIMGATE_EXPOSE

struct socket_access : timed_socket::socket_type {
    static constexpr auto impl = &socket_access::impl_;
};

descriptor_state*& state_of(timed_socket::socket_type& s) noexcept {
    return (s.*socket_access::impl).get_implementation().reactor_data_;
}
}  // namespace

bool* timed_socket::read_edge() noexcept {
    descriptor_state* d = state_of(socket_);
    return d ? &(d->*member_of(speculative_tag{}))[reactor::read_op] : nullptr;
}

void timed_socket::read_drained() noexcept {
    // A close that came in the same report as the bytes just read is still queued behind them
    // and will not be reported again: only with the peer's close watched, and not in that report,
    // is a short read the end of what arrived.
    descriptor_state* d = state_of(socket_);
    if (!d || !close_watched_) return;
    // descriptor_state derives privately from its operation; a C-style cast may name such a base.
    auto* base =
        (boost::asio::detail::scheduler_operation*)d;  // NOLINT(google-readability-casting)
    if ((base->*member_of(reported_tag{})) & EPOLLRDHUP) return;
    (d->*member_of(speculative_tag{}))[reactor::read_op] = false;
}

void timed_socket::queue_read_wait(boost::asio::detail::reactor_op* op) noexcept {
    descriptor_state*& d = state_of(socket_);
    reactor* r = d->*member_of(reactor_tag{});
    // Speculative start allowed, with the socket's read flag clear: start_op neither performs the
    // wait (which would complete it at once) nor touches the epoll registration.
    r->start_op(reactor::read_op, socket_.native_handle(), d, op, false, true);
}

void timed_socket::watch_peer_close() noexcept {
    descriptor_state* d = state_of(socket_);
    if (!d || close_watched_) return;
    std::uint32_t& registered = d->*member_of(events_tag{});
    reactor* r = d->*member_of(reactor_tag{});
    epoll_event ev{};
    ev.events = registered | EPOLLRDHUP;
    ev.data.ptr = d;
    if (::epoll_ctl(r->*member_of(epoll_fd_tag{}), EPOLL_CTL_MOD, socket_.native_handle(), &ev) ==
        0) {
        registered = ev.events;  // Asio's own later changes (EPOLLOUT) keep it
        close_watched_ = true;
    }
}
#else
bool* timed_socket::read_edge() noexcept {
    return nullptr;
}
void timed_socket::read_drained() noexcept {}
void timed_socket::queue_read_wait(boost::asio::detail::reactor_op* op) noexcept {
    descriptor_state*& d = state_of(socket_);
    reactor* r = d->*member_of(reactor_tag{});
    // Speculative start allowed, with the socket's read flag clear: start_op neither performs the
    // wait (which would complete it at once) nor touches the epoll registration.
    r->start_op(reactor::read_op, socket_.native_handle(), d, op, false, true);
}

void timed_socket::watch_peer_close() noexcept {}
void timed_socket::queue_read_wait(boost::asio::detail::reactor_op*) noexcept {}
#endif

timed_socket::timed_socket(args a) : socket_(std::move(a.socket)) {
    boost::system::error_code ignored;
    if (socket_.is_open()) {
        socket_.non_blocking(true, ignored);
        watch_peer_close();
    }
    a.list.push_back(*this);
}

void timed_socket::expire_if_due(clock::time_point now) noexcept {
    if (expired_ || deadline_ > now) return;
    expired_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);  // as beast::tcp_stream: a timed-out connection is over
}

void sweep_deadlines(timed_socket_list& list, timed_socket::clock::time_point now) noexcept {
    for (timed_socket& s : list) s.expire_if_due(now);
}

std::chrono::milliseconds sweep_period(std::chrono::milliseconds shortest_timeout) noexcept {
    using std::chrono::milliseconds;
    return std::clamp(shortest_timeout / 8, milliseconds(5), milliseconds(250));
}

}  // namespace shimgate
