#pragma once
// A connection that is plain TCP or TLS over TCP, chosen at run time, behind one AsyncStream
// interface, so the session and the upstream pool are written once for both. Timeouts live on the
// underlying beast::tcp_stream (tcp()), which also bounds the TLS layer's reads and writes.
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <utility>
#include <variant>

namespace shimgate {

class flex_stream {
  public:
    using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
    using executor_type = boost::beast::tcp_stream::executor_type;

    explicit flex_stream(boost::beast::tcp_stream plain) : s_(std::move(plain)) {}
    flex_stream(boost::beast::tcp_stream plain, boost::asio::ssl::context& tls)
        : s_(std::in_place_type<tls_stream>, std::move(plain), tls) {}

    boost::beast::tcp_stream& tcp() noexcept {
        if (auto* t = std::get_if<tls_stream>(&s_)) return t->next_layer();
        return std::get<boost::beast::tcp_stream>(s_);
    }
    tls_stream* tls() noexcept { return std::get_if<tls_stream>(&s_); }
    boost::asio::ip::tcp::socket& socket() noexcept { return tcp().socket(); }
    executor_type get_executor() noexcept { return tcp().get_executor(); }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                std::visit([&](auto& s) { s.async_read_some(b, std::move(handler)); }, s_);
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                std::visit([&](auto& s) { s.async_write_some(b, std::move(handler)); }, s_);
            },
            token, buffers);
    }

  private:
    std::variant<boost::beast::tcp_stream, tls_stream> s_;
};

}  // namespace shimgate
