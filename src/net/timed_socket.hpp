#pragma once
// A TCP socket with a coarse deadline and no timer of its own. Setting a deadline is a store; one
// timer per worker thread (sweep_deadlines, every few milliseconds) closes the sockets whose
// deadline has passed, and their pending operation then completes with beast::error::timeout, as
// with beast::tcp_stream. An operation started after that fails at once with the same error. This
// replaces beast::tcp_stream, which re-arms an Asio timer on every read and write: a
// timerfd_settime system call each time its timer becomes the earliest.
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
                socket_.async_read_some(b, completion<decltype(handler)>{this, std::move(handler)});
            },
            token, buffers);
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
    // (its owner awaits them), so `self` is valid when this runs.
    template <class Handler>
    struct completion {
        timed_socket* self;
        Handler handler;
        void operator()(boost::system::error_code ec, std::size_t n) {
            if (ec == boost::asio::error::operation_aborted && self->expired_)
                ec = boost::beast::error::timeout;
            std::move(handler)(ec, n);
        }
    };

    template <class Handler>
    void fail(Handler handler) {
        boost::asio::post(socket_.get_executor(), [h = std::move(handler)]() mutable {
            std::move(h)(boost::beast::error::timeout, std::size_t{0});
        });
    }

    socket_type socket_;
    clock::time_point deadline_ = clock::time_point::max();
    bool expired_ = false;
};

// Expires every socket of `list` whose deadline is at or before `now`.
void sweep_deadlines(timed_socket_list& list, timed_socket::clock::time_point now) noexcept;

// How often a worker sweeps: an eighth of the shortest timeout, between 5 and 250 ms, so a
// deadline fires at most 12.5 % late.
std::chrono::milliseconds sweep_period(std::chrono::milliseconds shortest_timeout) noexcept;

}  // namespace shimgate
