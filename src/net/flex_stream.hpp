#pragma once
// A connection that is plain TCP or TLS over TCP, chosen at run time, behind one AsyncStream
// interface, so the session and the upstream pool are written once for both. Deadlines live on the
// underlying timed_socket (tcp()), which also bounds the TLS layer's reads and writes.
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <utility>
#include <variant>

#include "net/timed_socket.hpp"

namespace shimgate {

class flex_stream {
  public:
    using tls_stream = boost::beast::ssl_stream<timed_socket>;
    using executor_type = timed_socket::executor_type;

    // `tls` null: plain TCP.
    flex_stream(boost::asio::ip::tcp::socket socket, timed_socket_list& list,
                boost::asio::ssl::context* tls = nullptr) {
        // Built in place: a timed_socket is linked into its worker's list and cannot move.
        timed_socket::args a{std::move(socket), list};
        if (tls) {
            s_.emplace<tls_stream>(std::move(a), *tls);
        } else {
            s_.emplace<timed_socket>(std::move(a));
        }
    }
    flex_stream(const flex_stream&) = delete;
    flex_stream& operator=(const flex_stream&) = delete;

    timed_socket& tcp() noexcept {
        if (auto* t = std::get_if<tls_stream>(&s_)) return t->next_layer();
        return std::get<timed_socket>(s_);
    }
    tls_stream* tls() noexcept { return std::get_if<tls_stream>(&s_); }
    boost::asio::ip::tcp::socket& socket() noexcept { return tcp().socket(); }
    executor_type get_executor() noexcept { return tcp().get_executor(); }

    // Plain TCP: as much of `buffers` as the socket takes now, without waiting. TLS: 0 (its
    // records are written by the asynchronous path).
    template <class ConstBuffers>
    std::size_t write_now(const ConstBuffers& buffers, boost::system::error_code& ec) {
        if (auto* p = std::get_if<timed_socket>(&s_)) return p->write_now(buffers, ec);
        return 0;
    }

    // Plain TCP: timed_socket::read_now. TLS: 0 and would_block (its records are read by the
    // asynchronous path).
    template <class MutableBuffers>
    std::size_t read_now(const MutableBuffers& buffers, boost::system::error_code& ec) {
        if (auto* p = std::get_if<timed_socket>(&s_)) return p->read_now(buffers, ec);
        ec = boost::asio::error::would_block;
        return 0;
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                if (auto* t = std::get_if<tls_stream>(&s_)) {
                    t->async_read_some(b, std::move(handler));
                } else {
                    std::get<timed_socket>(s_).async_read_some(b, std::move(handler));
                }
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                if (auto* t = std::get_if<tls_stream>(&s_)) {
                    t->async_write_some(b, std::move(handler));
                } else {
                    std::get<timed_socket>(s_).async_write_some(b, std::move(handler));
                }
            },
            token, buffers);
    }

  private:
    std::variant<std::monostate, timed_socket, tls_stream> s_;
};

}  // namespace shimgate
