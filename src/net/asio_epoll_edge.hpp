#pragma once
// The only place shimgate reaches into Asio's private members: the epoll reactor's per-socket
// "a readable edge arrived since the last read found the socket empty" flag (try_speculative_),
// used by timed_socket to skip the recv that fails with EAGAIN before every wait for the peer,
// to let the upstream pool reuse a quiet connection without a peek, and to queue an idle wait
// without an epoll_ctl. Built only with SHIMGATE_ASIO_PRIVATE=ON (the default) on the epoll
// reactor; timed_socket.hpp holds the plain path (public Asio only) used everywhere else.
//
// Measured on the bench's Explo keep-alive translation (strace -c -f, callgrind; numbers and
// method in docs/architecture.md, "Reads without a failed recv"): see the comment in
// asio_epoll_edge.cpp for the figures this file buys.
//
// The names used here are checked by the compiler, their meaning is not: a new Boost must be read
// (epoll_reactor.ipp: start_op, descriptor_state::perform_io) before the version below is moved.
#include <boost/asio/detail/reactive_wait_op.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/version.hpp>
#include <memory>

static_assert(
    BOOST_VERSION == 108100,
    "net/asio_epoll_edge.* reads Boost 1.81's epoll reactor internals: check them against "
    "this Boost, or configure with -DSHIMGATE_ASIO_PRIVATE=OFF for the plain path "
    "(public Asio only, see net/timed_socket.hpp)");

namespace shimgate::asio_epoll_edge {

using socket_type = boost::asio::ip::tcp::socket;

// The reactor's "try a read at once" flag of this socket, or null (closed).
bool* read_flag(socket_type& s) noexcept;

// After a short read (the socket drained): clears the flag, unless the peer's close is not
// watched or came in the same report as the bytes (it is queued behind them and not reported
// again).
void read_drained(socket_type& s, bool close_watched) noexcept;

// Adds EPOLLRDHUP to the socket's registration (one epoll_ctl); false if it could not.
bool watch_peer_close(socket_type& s) noexcept;

// Queues `op` on the reactor's read queue of `s`, to complete at the next readable edge. Only
// with read_flag(s) non-null and clear: nothing is tried at once, and the epoll registration is
// left alone (socket::async_wait re-registers the descriptor: an epoll_ctl per wait).
void queue_read_wait(socket_type& s, boost::asio::detail::reactor_op* op) noexcept;

// async_wait(wait_read) without the epoll_ctl: `handler(error_code)` runs at the next edge.
template <class Handler>
void async_wait_read_queued(socket_type& s, Handler handler) {
    using op = boost::asio::detail::reactive_wait_op<Handler, socket_type::executor_type>;
    typename op::ptr p = {std::addressof(handler), op::ptr::allocate(handler), nullptr};
    p.p = new (p.v) op(boost::system::error_code(), handler, s.get_executor());
    queue_read_wait(s, p.p);
    p.v = p.p = nullptr;
}

}  // namespace shimgate::asio_epoll_edge
