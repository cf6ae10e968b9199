#include "observe/admin.hpp"

#include <pthread.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <exception>
#include <list>
#include <thread>

#include "common/ascii.hpp"
#include "config/config.hpp"
#include "config/flags.hpp"
#include "json/json_writer.hpp"
#include "observe/log.hpp"
#include "observe/metrics_text.hpp"

namespace shimgate {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::chrono::seconds io_timeout{10};
constexpr std::chrono::seconds probe_timeout{1};
constexpr std::uint32_t max_head_bytes = 8 * 1024;
constexpr std::size_t max_connections = 64;

std::string describe(const tcp::endpoint& ep) {
    auto a = ep.address();
    std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
    return host + ":" + std::to_string(ep.port());
}

}  // namespace

// One open admin connection; `idle` while it waits for a request (its head not yet whole).
struct admin_connection {
    tcp::socket* socket = nullptr;
    bool idle = false;
    bool evicted = false;  // closed to make room; no longer counted
    std::chrono::steady_clock::time_point idle_since;
};

struct admin_server::impl {
    // Declared before ioc: coroutine frames still pending when ioc is destroyed use them.
    admin_sources sources;
    std::vector<tcp::endpoint> upstream;
    std::list<admin_connection> open;  // every connection being served, oldest first
    std::size_t connections = 0;       // of them, those not evicted: what the cap counts
    unsigned short port = 0;

    net::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    std::thread thread;
};

namespace {

using admin_impl = admin_server::impl;

struct admin_answer {
    http::status status = http::status::ok;
    std::string_view content_type = "text/plain; charset=utf-8";
    std::string body;
    bool allow_get = false;  // 405: Allow: GET
};

admin_answer problem(http::status status, std::string_view detail) {
    admin_answer a;
    a.status = status;
    a.content_type = "application/problem+json";
    json_object_writer w(a.body);
    w.key("type");
    w.string_value("about:blank");
    w.key("title");
    const auto reason = http::obsolete_reason(status);
    w.string_value(std::string_view(reason.data(), reason.size()));
    w.key("status");
    a.body += std::to_string(static_cast<unsigned>(status));
    w.key("detail");
    w.string_value(detail);
    w.close();
    a.body.push_back('\n');
    return a;
}

// Whether `needle` occurs in `haystack`, ASCII case ignored.
bool contains_ci(std::string_view haystack, std::string_view needle) {
    if (needle.size() > haystack.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i)
        if (iequals_ascii(haystack.substr(i, needle.size()), needle)) return true;
    return false;
}

// ?format=json / ?format=html win; otherwise JSON when Accept names application/json and not
// text/html (a browser names text/html, curl sends */*: both get the page).
bool wants_json(std::string_view query, std::string_view accept) {
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view part = query.substr(0, amp);
        if (part == "format=json") return true;
        if (part == "format=html") return false;
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return contains_ci(accept, "application/json") && !contains_ci(accept, "text/html");
}

// "" when a TCP connection to the upstream opens within probe_timeout, else why not.
net::awaitable<std::string> probe_upstream(admin_impl& s) {
    if (s.upstream.empty()) co_return "no upstream address";
    beast::tcp_stream probe(s.ioc);
    probe.expires_after(probe_timeout);
    auto [ec, ep] = co_await probe.async_connect(s.upstream, use_tuple);
    if (!ec) {
        boost::system::error_code ignored;
        probe.socket().shutdown(tcp::socket::shutdown_both, ignored);
        probe.socket().close(ignored);
        co_return std::string();
    }
    std::string why = "upstream " + describe(s.upstream.front());
    if (s.upstream.size() > 1) why += " (and " + std::to_string(s.upstream.size() - 1) + " more)";
    why += " unreachable: ";
    why += ec == beast::error::timeout ? std::string("no connection within 1 s") : ec.message();
    co_return why;
}

// "" when ready, else why not: what /readyz answers and shimgate_ready shows (one function, so
// they never disagree). The upstream is probed only with --ready-requires-upstream: a brief
// upstream outage must not take every replica out of its balancer at once.
net::awaitable<std::string> readiness(admin_impl& s) {
    if (s.sources.ready && !s.sources.ready()) co_return "rules not loaded or draining";
    if (!s.sources.require_upstream) co_return std::string();
    co_return co_await probe_upstream(s);
}

net::awaitable<admin_answer> answer(admin_impl& s, const http::request<http::empty_body>& req) {
    std::string_view target(req.target().data(), req.target().size());
    const auto question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

    const bool known =
        path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/migration";
    if (!known) {
        co_return problem(http::status::not_found,
                          "no such admin endpoint: try /healthz, /readyz, /metrics or /migration");
    }
    if (req.method() != http::verb::get) {
        admin_answer a = problem(http::status::method_not_allowed, "only GET is allowed here");
        a.allow_get = true;
        co_return a;
    }

    admin_answer a;
    if (path == "/healthz") {
        a.body = "ok\n";
        co_return a;
    }
    if (path == "/readyz") {
        std::string why = co_await readiness(s);
        if (!why.empty()) {
            a.status = http::status::service_unavailable;
            a.body = "not ready: " + why + "\n";
            co_return a;
        }
        a.body = "ready\n";
        co_return a;
    }

    if (path == "/metrics") {
        metrics_snapshot snap;
        if (s.sources.collect) {
            try {
                snap = co_await s.sources.collect();
            } catch (const std::exception& e) {
                log_error(std::string("admin: collecting metrics failed: ") + e.what());
                co_return problem(http::status::internal_server_error, "collecting metrics failed");
            }
        }
        const std::string why = co_await readiness(s);
        snap.process.ready = why.empty();
        a.content_type = "text/plain; version=0.0.4; charset=utf-8";
        a.body = render_prometheus(snap);
        co_return a;
    }
    if (!s.sources.migration) co_return problem(http::status::not_found, "no client ledger here");
    const auto accept = req[http::field::accept];
    const bool json = wants_json(query, std::string_view(accept.data(), accept.size()));
    try {
        a.body = co_await s.sources.migration(json);
    } catch (const std::exception& e) {
        log_error(std::string("admin: reading the client ledger failed: ") + e.what());
        co_return problem(http::status::internal_server_error, "reading the client ledger failed");
    }
    a.content_type = json ? "application/json" : "text/html; charset=utf-8";
    co_return a;
}

// Registers the connection and gives its slot back however the coroutine ends (also when its
// frame is destroyed).
struct connection_slot {
    connection_slot(admin_impl& s, tcp::socket& socket) : s_(s) {
        s_.open.emplace_back();
        s_.open.back().socket = &socket;
        it_ = std::prev(s_.open.end());
        ++s_.connections;
    }
    ~connection_slot() {
        if (!it_->evicted) --s_.connections;
        s_.open.erase(it_);
    }
    connection_slot(const connection_slot&) = delete;
    connection_slot& operator=(const connection_slot&) = delete;
    void idle(bool yes) {
        it_->idle = yes;
        if (yes) it_->idle_since = std::chrono::steady_clock::now();
    }
    admin_impl& s_;
    std::list<admin_connection>::iterator it_;
};

// At the cap: closes the connection idle the longest, so a flood of idle connections cannot keep
// the probes out. False if none is idle (every one is being answered).
bool evict_idle(admin_impl& s) {
    admin_connection* oldest = nullptr;
    for (auto& c : s.open)
        if (c.idle && !c.evicted && (!oldest || c.idle_since < oldest->idle_since)) oldest = &c;
    if (!oldest) return false;
    oldest->evicted = true;
    --s.connections;
    boost::system::error_code ignored;
    oldest->socket->close(ignored);  // its pending read ends with operation_aborted
    return true;
}

net::awaitable<void> serve(admin_impl& s, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    connection_slot slot(s, stream.socket());
    beast::flat_buffer buffer(2 * max_head_bytes);
    for (;;) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(max_head_bytes);
        parser.body_limit(0);
        stream.expires_after(io_timeout);
        slot.idle(true);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        (void)n;
        slot.idle(false);
        if (slot.it_->evicted) break;

        admin_answer a;
        bool keep_alive = false;
        if (!ec) {
            const auto& req = parser.get();
            a = co_await answer(s, req);
            keep_alive = req.keep_alive();
        } else if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
            a = problem(http::status::request_header_fields_too_large, "request head over 8 KiB");
        } else if (ec == http::error::body_limit || ec == http::error::unexpected_body) {
            a = problem(http::status::payload_too_large, "the admin endpoints take no body");
        } else if (ec.category() == http::make_error_code(http::error::bad_version).category() &&
                   ec != http::error::end_of_stream && ec != http::error::partial_message) {
            a = problem(http::status::bad_request, "malformed request");
        } else {
            break;  // closed, reset or timed out: nothing to answer
        }

        http::response<http::string_body> res{a.status, 11};
        res.set(http::field::content_type, a.content_type);
        res.set(http::field::cache_control, "no-store");
        res.set("X-Content-Type-Options", "nosniff");
        if (a.content_type.starts_with("text/html"))
            res.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
        if (a.allow_get) res.set(http::field::allow, "GET");
        res.body() = std::move(a.body);
        res.keep_alive(keep_alive);
        res.prepare_payload();
        if (!ec && parser.get().method() == http::verb::head) res.body().clear();  // length kept
        stream.expires_after(io_timeout);
        auto [wec, written] = co_await http::async_write(stream, res, use_tuple);
        (void)written;
        if (wec || !keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

net::awaitable<void> accept_loop(admin_impl& s) {
    for (;;) {
        auto [ec, socket] = co_await s.acceptor.async_accept(use_tuple);
        if (ec) {
            if (!s.acceptor.is_open() || ec == net::error::operation_aborted) co_return;
            net::steady_timer t(s.ioc, std::chrono::milliseconds(20));
            co_await t.async_wait(use_tuple);
            continue;
        }
        if (s.connections >= max_connections && !evict_idle(s)) continue;  // closes it
        net::co_spawn(s.ioc, serve(s, std::move(socket)), net::detached);
    }
}

}  // namespace

admin_server::admin_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

admin_server::~admin_server() {
    stop();
}

unsigned short admin_server::port() const noexcept {
    return impl_->port;
}

std::unique_ptr<admin_server> admin_server::start(const std::string& address,
                                                  std::vector<tcp::endpoint> upstream,
                                                  admin_sources sources, std::string& error) {
    host_port hp;
    if (auto e = parse_host_port(address, hp); !e.empty()) {
        error = "--admin: " + e;
        return nullptr;
    }
    auto p = std::make_unique<impl>();
    p->sources = std::move(sources);
    p->upstream = std::move(upstream);

    boost::system::error_code ec;
    tcp::resolver resolver(p->ioc);
    auto found = resolver.resolve(hp.host, std::to_string(hp.port), ec);
    if (ec || found.empty()) {
        error = "--admin: cannot resolve \"" + hp.host +
                "\": " + (ec ? ec.message() : std::string("no address"));
        return nullptr;
    }
    const tcp::endpoint endpoint = found.begin()->endpoint();
    auto& acc = p->acceptor;
    acc.open(endpoint.protocol(), ec);
    if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acc.bind(endpoint, ec);
    if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        error = "--admin: cannot listen on " + describe(endpoint) + ": " + ec.message();
        return nullptr;
    }
    p->port = acc.local_endpoint(ec).port();

    net::co_spawn(p->ioc, accept_loop(*p), net::detached);
    impl* raw = p.get();
    p->thread = std::thread([raw] {
        pthread_setname_np(pthread_self(), "shimgate-admin");
        for (;;) {
            try {
                raw->ioc.run();
                return;
            } catch (const std::exception& e) {
                log_error(std::string("admin: ") + e.what());
            }
        }
    });
    return std::unique_ptr<admin_server>(new admin_server(std::move(p)));
}

void admin_server::stop() {
    if (!impl_ || !impl_->thread.joinable()) return;
    impl_->ioc.stop();
    impl_->thread.join();
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
}

}  // namespace shimgate
