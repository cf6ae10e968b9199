#pragma once
// A TCP socket with a coarse deadline and no timer of its own. Setting a deadline is a store; one
// timer per worker thread (sweep_deadlines, every few milliseconds) closes the sockets whose
// deadline has passed, and their pending operation then completes with beast::error::timeout, as
// with beast::tcp_stream. An operation started after that fails at once with the same error. This
// replaces beast::tcp_stream, which re-arms an Asio timer on every read and write: a
// timerfd_settime system call each time its timer becomes the earliest.
//
// Reads skip the system call that cannot succeed. Asio's epoll reactor (edge-triggered) keeps, per
// socket, a flag "a readable edge arrived since the last read that found the socket empty", and
// tries a read at once (speculatively) while it is set; but it clears it only on EOF, so every
// read that waits for the peer (the upstream's answer, the client's next request) first costs a
// recv that fails with EAGAIN. Here a read that would block, or returns less than it asked for,
// clears the flag at once (no epoll_wait can run between that recv and the clearing, so an edge
// for bytes that arrive later is reported afterwards and sets it again), and the next read waits
// for the reactor without a failed recv. A short read says nothing of a close queued behind the
// bytes, so the socket also asks epoll for EPOLLRDHUP (one epoll_ctl per connection) and a short
// read out of a report that carried it leaves the flag set. The same flag tells the upstream pool
// whether anything (a close, stray bytes) arrived on an idle connection (readable_edge_pending).
#include <boost/asio/detail/reactive_wait_op.hpp>
#include <boost/asio/ip/tcp.hpp>
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
    }
    void expires_never() noexcept { expires_at(clock::time_point::max()); }
    bool expired() const noexcept { return expired_; }

    // Whether bytes or a close may have arrived since the socket was last read empty (true when
    // unknown: another reactor, or closed).
    bool readable_edge_pending() noexcept {
        bool* edge = read_edge();
        return !edge || *edge;
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

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                if (expired_) return fail(std::move(handler));
                std::size_t want = boost::asio::buffer_size(b);
                bool* edge = read_edge();
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
                socket_.async_read_some(
                    b, completion<decltype(handler)>{this, std::move(handler), want});
            },
            token, buffers);
    }

    // Completes when the socket has something to read (bytes, a close), without a buffer: an idle
    // connection holds no receive buffer while it waits. At once if a readable edge is pending.
    template <class Token>
    auto async_wait_readable(Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler) {
                if (expired_ || readable_edge_pending()) {
                    boost::system::error_code ec;
                    if (expired_) ec = boost::beast::error::timeout;
                    return boost::asio::post(
                        socket_.get_executor(),
                        [h = std::move(handler), ec]() mutable { std::move(h)(ec); });
                }
                // Nothing arrived since the socket was read empty: the next edge completes it.
                using wrapped = completion<decltype(handler)>;
                wrapped w{this, std::move(handler)};
                if (!read_edge()) {  // not the epoll reactor, or closed: Asio's own wait
                    socket_.async_wait(socket_type::wait_read, std::move(w));
                    return;
                }
                // socket::async_wait would re-register the descriptor with epoll (an epoll_ctl per
                // wait: Asio starts a wait as a non-speculative operation); the same operation
                // queued as a read needs no system call, the descriptor being registered for
                // input already.
                using op =
                    boost::asio::detail::reactive_wait_op<wrapped, socket_type::executor_type>;
                typename op::ptr p = {std::addressof(w), op::ptr::allocate(w), nullptr};
                p.p = new (p.v) op(boost::system::error_code(), w, socket_.get_executor());
                queue_read_wait(p.p);
                p.v = p.p = nullptr;
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

    // The epoll reactor's "try a read at once" flag of this socket, or null (closed, or not the
    // epoll reactor). timed_socket.cpp.
    bool* read_edge() noexcept;
    // After a short read: clears that flag unless a close may be queued behind the bytes read.
    void read_drained() noexcept;
    // Queues `op` on the reactor's read queue of this socket, to complete at the next readable
    // edge (the read flag is clear: nothing is tried at once, and the epoll registration is left
    // alone). Only when read_edge() is non-null.
    void queue_read_wait(boost::asio::detail::reactor_op* op) noexcept;

  public:
    // Asks the reactor to report the peer's close (EPOLLRDHUP) on this socket, which a short read
    // needs to know of (done by the constructor for an open socket; call after opening one).
    void watch_peer_close() noexcept;

  private:
    socket_type socket_;
    clock::time_point deadline_ = clock::time_point::max();
    bool expired_ = false;
    bool close_watched_ = false;
};

// Expires every socket of `list` whose deadline is at or before `now`.
void sweep_deadlines(timed_socket_list& list, timed_socket::clock::time_point now) noexcept;

// How often a worker sweeps: an eighth of the shortest timeout, between 5 and 250 ms, so a
// deadline fires at most 12.5 % late.
std::chrono::milliseconds sweep_period(std::chrono::milliseconds shortest_timeout) noexcept;

}  // namespace shimgate
