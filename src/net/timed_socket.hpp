#pragma once
// A TCP socket with a coarse deadline and no timer of its own. Setting a deadline is a store; one
// timer per worker thread (sweep_deadlines, every few milliseconds) closes the sockets whose
// deadline has passed, and their pending operation then completes with beast::error::timeout, as
// with beast::tcp_stream. An operation started after that fails at once with the same error. This
// replaces beast::tcp_stream, which re-arms an Asio timer on every read and write: a
// timerfd_settime system call each time its timer becomes the earliest.
//
// Reads, and the wait of an idle connection, have two builds:
//  - the plain path (public Asio only): a read is Asio's async_read_some, which tries the recv at
//    once and waits for the reactor if it would block (so every read that waits for the peer
//    begins with a recv failing with EAGAIN); the idle wait is socket::async_wait(wait_read)
//    (an epoll_ctl per wait on the epoll reactor); readable_edge_pending() is always true, so
//    the upstream pool peeks before reusing a connection.
//  - SHIMGATE_ASIO_PRIVATE (CMake option, on by default; epoll reactor only): net/asio_epoll_edge.*
//    reads and clears the epoll reactor's per-socket "readable edge seen" flag, which Asio clears
//    only on EOF: a read that would block, or returns less than it asked for, clears it at once
//    (no epoll_wait can run between that recv and the clearing, so later bytes set it again), and
//    the next read waits without a failed recv. A short read out of a report that carried
//    EPOLLRDHUP (watched on every socket, one epoll_ctl per connection) keeps it, since the close
//    queued behind the bytes is not reported twice. The idle wait is queued on the reactor's read
//    queue without an epoll_ctl, and the pool reuses a connection on which no edge came without a
//    peek. What that saves, measured: docs/architecture.md, "Reads without a failed recv".
#include <boost/asio/ip/tcp.hpp>  // first: Asio's configuration (BOOST_ASIO_HAS_EPOLL)
#if SHIMGATE_ASIO_PRIVATE && defined(BOOST_ASIO_HAS_EPOLL) && \
    !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#define SHIMGATE_EPOLL_EDGE 1
#include "net/asio_epoll_edge.hpp"
#else
#define SHIMGATE_EPOLL_EDGE 0
#endif
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/intrusive/list.hpp>
#include <chrono>
#include <cstddef>
#include <utility>

namespace shimgate {

class timed_socket;
using timed_socket_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;
// Every timed socket of one worker thread (a socket leaves the list when it is destroyed).
using timed_socket_list =
    boost::intrusive::list<timed_socket, boost::intrusive::constant_time_size<false>>;

class timed_socket : public timed_socket_hook {
  public:
    using clock = std::chrono::steady_clock;
    using socket_type = boost::asio::ip::tcp::socket;
    using lowest_layer_type = socket_type;  // for asio::ssl::stream
    using executor_type = socket_type::executor_type;

    struct args {  // one argument, as asio::ssl::stream constructs its next layer from one
        socket_type socket;
        timed_socket_list& list;
    };
    // Joins `list`. An open socket is made non-blocking, so write_now never waits.
    explicit timed_socket(args a);
    timed_socket(const timed_socket&) = delete;
    timed_socket& operator=(const timed_socket&) = delete;

    socket_type& socket() noexcept { return socket_; }
    lowest_layer_type& lowest_layer() noexcept { return socket_; }
    executor_type get_executor() noexcept { return socket_.get_executor(); }

    void expires_after(clock::duration d) { expires_at(clock::now() + d); }
    void expires_at(clock::time_point t) noexcept {
        deadline_ = t;
        expired_ = false;
        cancel_only_ = false;
    }
    // As expires_at, but a passed deadline only cancels the pending operation (it completes with
    // beast::error::timeout) and leaves the socket open, so that an answer (a 408) can still be
    // written once another deadline is set.
    void cancels_at(clock::time_point t) noexcept {
        expires_at(t);
        cancel_only_ = true;
    }
    void expires_never() noexcept { expires_at(clock::time_point::max()); }
    bool expired() const noexcept { return expired_; }

    // Whether reads and the pool know when the socket was last read empty (the private path).
    static constexpr bool tracks_read_edge = SHIMGATE_EPOLL_EDGE;

    // Whether bytes or a close may have arrived since the socket was last read empty (true when
    // unknown: the plain path, or closed).
    bool readable_edge_pending() noexcept {
#if SHIMGATE_EPOLL_EDGE
        bool* edge = asio_epoll_edge::read_flag(socket_);
        return !edge || *edge;
#else
        return true;
#endif
    }

    // Called by the sweep: if the deadline has passed, close the socket and fail what follows.
    void expire_if_due(clock::time_point now) noexcept;

    // As much of `buffers` as the socket takes now, without waiting (0 and would_block if none).
    template <class ConstBuffers>
    std::size_t write_now(const ConstBuffers& buffers, boost::system::error_code& ec) {
        if (expired_) {
            ec = boost::beast::error::timeout;
            return 0;
        }
        return socket_.write_some(buffers, ec);
    }

    // What has arrived, read now without waiting, when the reactor saw bytes (or a close) arrive
    // since the socket was last read empty; else 0 and would_block, and the caller's
    // async_read_some waits for the next edge without a failed recv first. The plain path knows
    // no edges: always would_block (Asio's own read tries the recv at once). The usual read after
    // a readiness report completes here, inline: no posted completion, no coroutine suspended.
    // Inline reads are bounded: after max_inline_reads in a row, one is left to async_read_some,
    // whose completion is queued behind the worker's other work, so a peer that keeps its socket
    // full (a pipelining flood, a fast upload) cannot keep the other connections waiting.
    static constexpr unsigned max_inline_reads = 16;
    template <class MutableBuffers>
    std::size_t read_now(const MutableBuffers& buffers, boost::system::error_code& ec) {
        if (expired_) {
            ec = boost::beast::error::timeout;
            return 0;
        }
        ec = boost::asio::error::would_block;
        std::size_t n = 0;
#if SHIMGATE_EPOLL_EDGE
        bool* edge = asio_epoll_edge::read_flag(socket_);
        if (edge && *edge && ++inline_reads_ <= max_inline_reads) {
            n = socket_.read_some(buffers, ec);  // the socket is non-blocking
            if (ec == boost::asio::error::would_block) {
                *edge = false;  // empty: the next read waits for the next edge
            } else if (!ec && n < boost::asio::buffer_size(buffers)) {
                read_drained();
            }
        }
#else
        (void)buffers;
#endif
        // The caller's read goes through Asio now: the count starts again.
        if (ec == boost::asio::error::would_block) inline_reads_ = 0;
        return n;
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                if (expired_) return fail(std::move(handler));
                std::size_t want = boost::asio::buffer_size(b);
#if SHIMGATE_EPOLL_EDGE
                bool* edge = asio_epoll_edge::read_flag(socket_);
                if (edge && *edge) {
                    // Something arrived since the last empty read: read it now.
                    boost::system::error_code ec;
                    std::size_t n = socket_.read_some(b, ec);  // the socket is non-blocking
                    if (ec != boost::asio::error::would_block) {
                        if (!ec && n < want) read_drained();
                        return complete_later(std::move(handler), ec, n);
                    }
                    *edge = false;  // empty: Asio waits for the next edge instead of trying again
                }
#endif
                // Plain path: Asio tries the recv at once itself, and waits if it would block.
                socket_.async_read_some(
                    b, completion<decltype(handler)>{this, std::move(handler), want});
            },
            token, buffers);
    }

    // Completes when the socket has something to read (bytes, a close), without a buffer: an idle
    // connection holds no receive buffer while it waits.
    template <class Token>
    auto async_wait_readable(Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler) {
                using wrapped = completion<decltype(handler)>;
                if (expired_) {
                    return boost::asio::post(
                        socket_.get_executor(), [h = std::move(handler)]() mutable {
                            std::move(h)(boost::system::error_code(boost::beast::error::timeout));
                        });
                }
#if SHIMGATE_EPOLL_EDGE
                if (bool* edge = asio_epoll_edge::read_flag(socket_)) {
                    if (*edge) {  // an edge is pending: at once
                        return boost::asio::post(socket_.get_executor(),
                                                 [h = std::move(handler)]() mutable {
                                                     std::move(h)(boost::system::error_code());
                                                 });
                    }
                    // Nothing arrived since the socket was read empty: the next edge completes
                    // it (queued as a read: no epoll_ctl).
                    return asio_epoll_edge::async_wait_read_queued(
                        socket_, wrapped{this, std::move(handler)});
                }
#endif
                socket_.async_wait(socket_type::wait_read, wrapped{this, std::move(handler)});
            },
            token);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                if (expired_) return fail(std::move(handler));
                socket_.async_write_some(b,
                                         completion<decltype(handler)>{this, std::move(handler)});
            },
            token, buffers);
    }

  private:
    // Turns the sweep's cancellation into a timeout. The socket outlives its pending operations
    // (its owner awaits them), so `self` is valid when this runs. For a read (`want` bytes asked),
    // completed by the reactor in this turn of the loop before any further epoll_wait, a short
    // read drained the socket.
    template <class Handler>
    struct completion {
        timed_socket* self;
        Handler handler;
        std::size_t want = 0;  // 0: not a read
        void operator()(boost::system::error_code ec, std::size_t n) {
            if (!ec && n < want) self->read_drained();
            std::move(handler)(self->timeout_if_expired(ec), n);
        }
        void operator()(boost::system::error_code ec) {  // a wait
            std::move(handler)(self->timeout_if_expired(ec));
        }
    };

    boost::system::error_code timeout_if_expired(boost::system::error_code ec) const noexcept {
        if (ec == boost::asio::error::operation_aborted && expired_)
            return boost::beast::error::timeout;
        return ec;
    }

    template <class Handler>
    void complete_later(Handler handler, boost::system::error_code ec, std::size_t n) {
        boost::asio::post(socket_.get_executor(),
                          [h = std::move(handler), ec, n]() mutable { std::move(h)(ec, n); });
    }

    template <class Handler>
    void fail(Handler handler) {
        complete_later(std::move(handler), boost::beast::error::timeout, 0);
    }

    // After a short read: clears the reactor's read flag unless a close may be queued behind the
    // bytes read (the private path; nothing on the plain one).
    void read_drained() noexcept {
#if SHIMGATE_EPOLL_EDGE
        asio_epoll_edge::read_drained(socket_, close_watched_);
#endif
    }

  public:
    // Asks the reactor to report the peer's close (EPOLLRDHUP) on this socket, which a short read
    // needs to know of (done by the constructor for an open socket; call after opening one). The
    // plain path: nothing to do.
    void watch_peer_close() noexcept;

  private:
    socket_type socket_;
    clock::time_point deadline_ = clock::time_point::max();
    bool expired_ = false;
    bool cancel_only_ = false;  // cancels_at: the deadline cancels, the socket stays open
    bool close_watched_ = false;
    unsigned inline_reads_ = 0;  // read_now's reads since one last went through Asio
};

// Expires every socket of `list` whose deadline is at or before `now`.
void sweep_deadlines(timed_socket_list& list, timed_socket::clock::time_point now) noexcept;

// How often a worker sweeps: an eighth of the shortest timeout, between 5 and 250 ms, so a
// deadline fires at most 12.5 % late.
std::chrono::milliseconds sweep_period(std::chrono::milliseconds shortest_timeout) noexcept;

}  // namespace shimgate
