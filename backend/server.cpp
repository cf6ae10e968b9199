#include "server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "handlers.hpp"
#include "tls.hpp"

namespace shimgate::backend {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t piece_size = 64 * 1024;          // body read pieces
constexpr std::size_t stream_piece_size = 256 * 1024;  // /bytes write pieces
// Above the proxy's own 16 KiB default, so its header limit is what tests meet, not ours.
constexpr std::uint32_t max_header_bytes = 64 * 1024;
constexpr auto handshake_timeout = std::chrono::seconds(10);
constexpr auto shutdown_timeout = std::chrono::seconds(2);

// Sessions are templates over the stream: plain TCP, or TLS over it (--tls-cert/--tls-key). Plain
// HTTP stays on the bare socket: beast::tcp_stream costs ~20% of the requests per second, and only
// the TLS handshake and shutdown need its deadlines.
using plain_stream = tcp::socket;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Read-only source of 'x' bytes for /bytes and /abort.
const char* filler() {
    static const std::string bytes(stream_piece_size, 'x');
    return bytes.data();
}

// Per-thread sink for bodies that are only counted; its contents are never looked at, so the
// sessions of one thread can share it.
char* scratch() {
    thread_local std::array<char, piece_size> buffer;
    return buffer.data();
}

bool is_http_error(const error_code& ec) {
    static const auto& category = make_error_code(beast::http::error::end_of_stream).category();
    return ec.category() == category;
}

// Writes a reply of kind::message. HEAD gets the head only.
template <class Stream>
net::awaitable<error_code> write_message(Stream& sock, reply& r, unsigned version, bool keep,
                                         bool head_only) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "customer-api");
    if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) res.set(name, value);
    res.keep_alive(keep);
    res.body() = std::move(r.body);
    if (r.status != 204 && r.status != 304) res.prepare_payload();
    if (head_only) {
        http::response_serializer<http::string_body> sr{res};
        auto [ec, n] = co_await http::async_write_header(sock, sr, use_tuple);
        co_return ec;
    }
    auto [ec, n] = co_await http::async_write(sock, res, use_tuple);
    co_return ec;
}

// Writes kind::stream and kind::abort replies: the head, then 'x' bytes straight to the socket.
template <class Stream>
net::awaitable<error_code> write_stream(Stream& sock, const reply& r, unsigned version, bool keep,
                                        bool head_only) {
    const bool abort = r.what == reply::kind::abort;
    const bool chunked = !abort && r.chunked && version >= 11;
    http::response<http::empty_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "customer-api");
    res.set(http::field::content_type, r.content_type);
    res.keep_alive(keep && !abort);
    if (chunked) {
        res.chunked(true);
    } else {
        res.content_length(abort ? 100000 : r.stream_bytes);
    }
    http::response_serializer<http::empty_body> sr{res};
    if (auto [ec, n] = co_await http::async_write_header(sock, sr, use_tuple); ec || head_only) {
        co_return ec;
    }
    std::uint64_t remaining = abort ? 10 : r.stream_bytes;
    while (remaining > 0) {
        const auto n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining, stream_piece_size));
        const net::const_buffer piece(filler(), n);
        error_code ec;
        if (chunked) {
            std::tie(ec, std::ignore) =
                co_await net::async_write(sock, http::make_chunk(piece), use_tuple);
        } else {
            std::tie(ec, std::ignore) = co_await net::async_write(sock, piece, use_tuple);
        }
        if (ec) co_return ec;
        remaining -= n;
    }
    if (chunked) {
        auto [ec, n] = co_await net::async_write(sock, http::make_chunk_last(), use_tuple);
        co_return ec;
    }
    co_return error_code{};
}

// Reads the body of the request `parser` holds the head of. In collect mode it lands in `body`
// (at most json_body_limit bytes, else http::error::body_limit); in count mode only its length
// is kept. Returns the body's length.
template <class Stream>
net::awaitable<std::pair<error_code, std::uint64_t>> read_body(
    Stream& sock, beast::flat_buffer& buffer, http::request_parser<http::buffer_body>& parser,
    body_mode mode, std::string& body) {
    std::uint64_t total = 0;
    while (!parser.is_done()) {
        char* dest = nullptr;
        std::size_t room = piece_size;
        if (mode == body_mode::collect) {
            if (const auto left = parser.content_length_remaining()) {
                room = static_cast<std::size_t>(std::min<std::uint64_t>(*left, piece_size));
            }
            const std::size_t old = body.size();
            body.resize(old + room);
            dest = body.data() + old;
        } else {
            dest = scratch();
        }
        parser.get().body().data = dest;
        parser.get().body().size = room;
        auto [ec, n] = co_await http::async_read(sock, buffer, parser, use_tuple);
        const std::size_t got = room - parser.get().body().size;
        total += got;
        if (mode == body_mode::collect) body.resize(body.size() - room + got);
        if (ec == http::error::need_buffer) ec = {};
        if (ec) co_return std::pair{ec, total};
        if (mode == body_mode::collect && total > json_body_limit) {
            co_return std::pair{error_code{http::error::body_limit}, total};
        }
    }
    co_return std::pair{error_code{}, total};
}

tcp::socket& tcp_socket(plain_stream& stream) {
    return stream;
}
tcp::socket& tcp_socket(tls_stream& stream) {
    return beast::get_lowest_layer(stream).socket();
}

// Closes the TCP socket (a FIN after what was written; for TLS no close_notify).
template <class Stream>
void close_socket(Stream& stream) {
    tcp::socket& sock = tcp_socket(stream);
    error_code ignored;
    sock.shutdown(tcp::socket::shutdown_send, ignored);
    sock.close(ignored);
}

// Answers the requests of one connection in order. Returns true if it ended cleanly (the peer
// closed between requests, or a reply that closes the connection was written), false after an
// I/O error or an /abort.
template <class Stream>
net::awaitable<bool> serve(Stream& sock, state& st) {
    beast::flat_buffer buffer;
    std::string body;
    net::steady_timer timer(sock.get_executor());
    for (;;) {
        http::request_parser<http::buffer_body> parser;
        parser.body_limit(boost::none);  // limits are per route, enforced in read_body()
        parser.header_limit(max_header_bytes);

        if (auto [ec, n] = co_await http::async_read_header(sock, buffer, parser, use_tuple); ec) {
            // A clean close between requests, or an I/O error: nothing to answer.
            if (ec == http::error::end_of_stream) co_return true;
            if (!is_http_error(ec) || ec == http::error::partial_message) co_return false;
            reply r = error_reply(
                ec == http::error::header_limit ? 431 : 400,
                ec == http::error::header_limit ? "request header too large" : "bad request");
            co_return !co_await write_message(sock, r, 11, false, false);
        }
        st.requests.fetch_add(1, std::memory_order_relaxed);

        const request_head& head = parser.get().base();
        const unsigned version = head.version();
        const bool head_only = head.method() == http::verb::head;
        const body_mode mode = body_mode_for(head);

        body.clear();
        std::uint64_t body_bytes = 0;
        if (!parser.is_done()) {
            if (mode == body_mode::collect) {
                if (const auto len = parser.content_length(); len && *len > json_body_limit) {
                    reply r = error_reply(413, "request body too large");
                    co_return !co_await write_message(sock, r, version, false, head_only);
                }
            }
            if (version >= 11 && beast::iequals(head[http::field::expect], "100-continue")) {
                static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
                if (auto [ec, n] = co_await net::async_write(
                        sock, net::buffer(go_on.data(), go_on.size()), use_tuple);
                    ec) {
                    co_return false;
                }
            }
            auto [ec, n] = co_await read_body(sock, buffer, parser, mode, body);
            body_bytes = n;
            if (ec) {
                if (ec == http::error::body_limit) {
                    reply r = error_reply(413, "request body too large");
                    co_return !co_await write_message(sock, r, version, false, head_only);
                }
                if (is_http_error(ec) && ec != http::error::end_of_stream &&
                    ec != http::error::partial_message) {
                    reply r = error_reply(400, "bad request");
                    co_return !co_await write_message(sock, r, 11, false, false);
                }
                co_return false;
            }
        }

        reply r = handle(head, body, body_bytes, st);
        const bool keep = parser.get().keep_alive() && !r.close;
        if (r.delay_ms > 0) {
            timer.expires_after(std::chrono::milliseconds(r.delay_ms));
            if (auto [ec] = co_await timer.async_wait(use_tuple); ec) co_return false;
        }
        error_code ec;
        if (r.what == reply::kind::message) {
            ec = co_await write_message(sock, r, version, keep, head_only);
        } else {
            ec = co_await write_stream(sock, r, version, keep, head_only);
            if (r.what == reply::kind::abort) co_return false;
        }
        if (ec) co_return false;
        if (!keep) co_return true;
        if (body.capacity() > 1024 * 1024) std::string{}.swap(body);  // don't keep big buffers
    }
}

template <class Stream>
net::awaitable<void> session(Stream stream, state& st) {
    if constexpr (is_tls<Stream>) {
        beast::get_lowest_layer(stream).expires_after(handshake_timeout);
        auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server, use_tuple);
        if (ec) {
            close_socket(stream);
            co_return;
        }
        beast::get_lowest_layer(stream).expires_never();
    }
    const bool clean = co_await serve(stream, st);
    if constexpr (is_tls<Stream>) {
        if (clean) {  // send close_notify, wait briefly for the peer's
            beast::get_lowest_layer(stream).expires_after(shutdown_timeout);
            co_await stream.async_shutdown(use_tuple);
        }
    }
    close_socket(stream);
}

// tls: null for plain HTTP.
net::awaitable<void> accept_loop(tcp::acceptor acceptor, state& st, net::ssl::context* tls) {
    net::steady_timer backoff(acceptor.get_executor());
    for (;;) {
        auto [ec, sock] = co_await acceptor.async_accept(use_tuple);
        if (ec) {
            if (ec == net::error::operation_aborted) co_return;
            // EMFILE and friends: don't spin; try again shortly.
            backoff.expires_after(std::chrono::milliseconds(10));
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        st.connections_accepted.fetch_add(1, std::memory_order_relaxed);
        error_code ignored;
        sock.set_option(tcp::no_delay(true), ignored);
        if (tls != nullptr) {
            net::co_spawn(acceptor.get_executor(), session(tls_stream(std::move(sock), *tls), st),
                          net::detached);
        } else {
            net::co_spawn(acceptor.get_executor(), session(std::move(sock), st), net::detached);
        }
    }
}

tcp::acceptor make_acceptor(net::io_context& ioc, const tcp::endpoint& ep, error_code& ec) {
    tcp::acceptor acceptor(ioc);
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.set_option(reuse_port(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    return acceptor;
}

}  // namespace

int run(const server_config& config) {
    error_code ec;
    const auto address = net::ip::make_address(config.host, ec);
    if (ec) {
        std::cerr << "customer-api: --listen: invalid address '" << config.host << "'\n";
        return 2;
    }

    std::unique_ptr<net::ssl::context> tls;
    if (!config.tls_cert.empty()) {
        std::string error;
        tls = make_tls_context(config.tls_cert, config.tls_key, error);
        if (!tls) {
            std::cerr << "customer-api: " << error << '\n';
            return 1;
        }
    }

    state st(config.tokens);
    std::vector<std::unique_ptr<net::io_context>> contexts;
    std::vector<tcp::acceptor> acceptors;
    tcp::endpoint ep(address, config.port);
    for (unsigned i = 0; i < config.threads; ++i) {
        contexts.push_back(std::make_unique<net::io_context>(1));
        acceptors.push_back(make_acceptor(*contexts.back(), ep, ec));
        if (ec) {
            std::cerr << "customer-api: --listen: cannot listen on " << config.host << ':'
                      << ep.port() << ": " << ec.message() << '\n';
            return 1;
        }
        if (i == 0) ep = acceptors.front().local_endpoint();  // port 0: the others share it
    }

    // Signals are caught before the port is announced: a test may send SIGTERM right after.
    net::io_context main_context(1);
    net::signal_set signals(main_context, SIGINT, SIGTERM);
    signals.async_wait([&](const error_code&, int) {
        for (auto& ioc : contexts) ioc->stop();
    });

    const std::string host =
        address.is_v6() ? '[' + address.to_string() + ']' : address.to_string();
    std::cout << "listening on " << host << ':' << ep.port() << std::endl;

    std::vector<std::thread> threads;
    threads.reserve(contexts.size());
    for (std::size_t i = 0; i < contexts.size(); ++i) {
        net::co_spawn(*contexts[i], accept_loop(std::move(acceptors[i]), st, tls.get()),
                      net::detached);
        threads.emplace_back([&ioc = *contexts[i]] { ioc.run(); });
    }
    main_context.run();
    for (auto& t : threads) t.join();
    return 0;
}

}  // namespace shimgate::backend
