// See asio_epoll_edge.hpp. Compiled to nothing unless SHIMGATE_ASIO_PRIVATE is on and Asio's
// reactor is epoll.
//
// What this file buys, measured against the plain path (SHIMGATE_ASIO_PRIVATE=OFF) on the Explo
// keep-alive translation, shimgate --threads 1 and an nginx upstream on one core, the load on the
// other (as bench/run), medians of three interleaved runs:
//   system calls per request (strace -c -f, 3 s of wrk): 4.12 vs 6.13 with 64 connections, 8.01
//   vs 10.01 with one: 2.0 fewer (the plain path adds an epoll_ctl per idle wait and the pool's
//   MSG_PEEK before each reuse; with other processes busy on the proxy's core, also a failed recv
//   on 40 % of the upstream reads: 4.16 vs 6.64, 8.03 vs 10.33). bench/run's target is 4.5;
//   user instructions per request (callgrind, 5,000 requests): 40.0k vs 39.9k, no difference;
//   proxy CPU per request at 5,000 req/s (h2load --rps, six runs each): 36.5 vs 37.1 us, within
//   the noise.
// If a Boost upgrade trips the static_assert and these internals changed, the plain path costs
// those system calls and nothing else.
#include <boost/asio/detail/config.hpp>
#if SHIMGATE_ASIO_PRIVATE && defined(BOOST_ASIO_HAS_EPOLL) && \
    !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#include <sys/epoll.h>

#include <cstdint>

#include "net/asio_epoll_edge.hpp"

namespace shimgate::asio_epoll_edge {
namespace {
// The socket's implementation is a protected member of basic_socket (named through a derived
// class); the epoll reactor's members used here are private or protected: an explicit
// instantiation may name them, and hands their addresses to friend functions.
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

struct socket_access : socket_type {
    static constexpr auto impl = &socket_access::impl_;
};

descriptor_state*& state_of(socket_type& s) noexcept {
    return (s.*socket_access::impl).get_implementation().reactor_data_;
}
}  // namespace

bool* read_flag(socket_type& s) noexcept {
    descriptor_state* d = state_of(s);
    return d ? &(d->*member_of(speculative_tag{}))[reactor::read_op] : nullptr;
}

void read_drained(socket_type& s, bool close_watched) noexcept {
    descriptor_state* d = state_of(s);
    if (!d || !close_watched) return;
    // descriptor_state derives privately from its operation; a C-style cast may name such a base.
    auto* base =
        (boost::asio::detail::scheduler_operation*)d;  // NOLINT(google-readability-casting)
    if ((base->*member_of(reported_tag{})) & EPOLLRDHUP) return;
    (d->*member_of(speculative_tag{}))[reactor::read_op] = false;
}

void queue_read_wait(socket_type& s, boost::asio::detail::reactor_op* op) noexcept {
    descriptor_state*& d = state_of(s);
    reactor* r = d->*member_of(reactor_tag{});
    // Speculative start allowed, with the socket's read flag clear: start_op neither performs the
    // wait (which would complete it at once) nor touches the epoll registration.
    r->start_op(reactor::read_op, s.native_handle(), d, op, false, true);
}

bool watch_peer_close(socket_type& s) noexcept {
    descriptor_state* d = state_of(s);
    if (!d) return false;
    std::uint32_t& registered = d->*member_of(events_tag{});
    reactor* r = d->*member_of(reactor_tag{});
    epoll_event ev{};
    ev.events = registered | EPOLLRDHUP;
    ev.data.ptr = d;
    if (::epoll_ctl(r->*member_of(epoll_fd_tag{}), EPOLL_CTL_MOD, s.native_handle(), &ev) != 0)
        return false;
    registered = ev.events;  // Asio's own later changes (EPOLLOUT) keep it
    return true;
}

}  // namespace shimgate::asio_epoll_edge
#endif
