#include "net/server.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <thread>

#include "config/rule_loader.hpp"
#include "json/json_context.hpp"
#include "net/session.hpp"
#include "net/worker.hpp"
#include "observe/log.hpp"

namespace shimgate {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

net::awaitable<void> serve_connection(worker& w, tcp::socket socket) {
    client_session session(w, std::move(socket), w.server_tls);
    co_await session.run();
}

net::awaitable<void> accept_loop(worker& w) {
    for (;;) {
        auto [ec, socket] = co_await w.acceptor->async_accept(net::as_tuple(net::use_awaitable));
        if (ec) {
            if (!w.acceptor->is_open() || ec == net::error::operation_aborted) co_return;
            // Out of descriptors or similar: back off briefly instead of spinning.
            net::steady_timer t(w.ioc, std::chrono::milliseconds(20));
            co_await t.async_wait(net::as_tuple(net::use_awaitable));
            continue;
        }
        // Counted here, at accept, so a burst cannot overshoot; the session gives it back.
        if (w.open_connections.fetch_add(1, std::memory_order_relaxed) >= w.cfg.max_connections) {
            w.open_connections.fetch_sub(1, std::memory_order_relaxed);
            continue;  // the socket closes here
        }
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        net::co_spawn(w.ioc, serve_connection(w, std::move(socket)), net::detached);
    }
}

std::string describe(const tcp::endpoint& ep) {
    auto a = ep.address();
    std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
    return host + ":" + std::to_string(ep.port());
}

// Binds an acceptor with SO_REUSEPORT, so every worker accepts on the same port.
boost::system::error_code open_acceptor(tcp::acceptor& acc, const tcp::endpoint& ep) {
    boost::system::error_code ec;
    acc.open(ep.protocol(), ec);
    if (ec) return ec;
    acc.set_option(tcp::acceptor::reuse_address(true), ec);
    int one = 1;
    if (::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        return {errno, boost::system::system_category()};
    acc.bind(ep, ec);
    if (ec) return ec;
    acc.listen(net::socket_base::max_listen_connections, ec);
    return ec;
}

}  // namespace

server::server(config cfg, rule_set_ptr rules, tls_context_ptr listener_tls,
               tls_context_ptr upstream_tls)
    : cfg_(std::move(cfg)),
      rules_(std::move(rules)),
      listener_tls_(std::move(listener_tls)),
      upstream_tls_(std::move(upstream_tls)) {}
server::~server() = default;

int server::run() {
    std::signal(SIGPIPE, SIG_IGN);
    net::io_context main_ioc(1);
    boost::system::error_code ec;

    tcp::resolver resolver(main_ioc);
    auto up = resolver.resolve(cfg_.upstream.host, std::to_string(cfg_.upstream.port), ec);
    if (ec || up.empty()) {
        log_error("--upstream: cannot resolve \"" + cfg_.upstream.host + "\": " + ec.message());
        return 1;
    }
    std::vector<tcp::endpoint> upstream_endpoints;
    for (const auto& e : up) upstream_endpoints.push_back(e.endpoint());

    auto listen = resolver.resolve(cfg_.listen.host, std::to_string(cfg_.listen.port), ec);
    if (ec || listen.empty()) {
        log_error("--listen: cannot resolve \"" + cfg_.listen.host + "\": " + ec.message());
        return 1;
    }
    tcp::endpoint endpoint = listen.begin()->endpoint();

    for (unsigned i = 0; i < cfg_.threads; ++i) {
        auto w = std::make_unique<worker>(cfg_, upstream_endpoints, rules_, listener_tls_,
                                          upstream_tls_, open_connections_);
        w->acceptor.emplace(w->ioc);
        if (auto bind_ec = open_acceptor(*w->acceptor, endpoint)) {
            log_error("--listen " + describe(endpoint) + ": " + bind_ec.message());
            return 1;
        }
        // With port 0 the first bind picks the port; the other workers join it.
        if (i == 0) endpoint = w->acceptor->local_endpoint();
        workers_.push_back(std::move(w));
    }
    log_info(std::string("listening on ") + (listener_tls_ ? "https://" : "http://") +
             describe(endpoint) + " (upstream " + (cfg_.upstream.tls ? "https://" : "http://") +
             cfg_.upstream.host_header + cfg_.upstream.prefix + ", " +
             std::to_string(cfg_.threads) + " threads, " +
             std::to_string(rules_ ? rules_->rules.size() : 0) + " rules, simdjson " +
             std::string(ondemand_kernel) + " kernel)");

    std::size_t finished = 0;
    std::vector<std::thread> threads;
    for (auto& w : workers_) {
        net::co_spawn(w->ioc, accept_loop(*w), net::detached);
        threads.emplace_back([&w = *w, &main_ioc, &finished, this] {
            w.ioc.run();
            net::post(main_ioc, [&] {
                if (++finished == workers_.size()) main_ioc.stop();
            });
        });
    }

    net::signal_set signals(main_ioc, SIGINT, SIGTERM, SIGHUP);
    net::steady_timer drain_deadline(main_ioc);
    bool draining = false;
    std::function<void(boost::system::error_code, int)> on_signal =
        [&](boost::system::error_code sec, int sig) {
            if (sec) return;
            if (sig == SIGHUP) {
                auto loaded = load_rules(cfg_.rules_dir);
                if (!loaded.rules) {
                    log_error("rule reload refused, the previous rules keep serving: " +
                              loaded.error);
                } else {
                    for (auto& w : workers_)
                        net::post(w->ioc, [&w = *w, rs = loaded.rules] { w.rules = rs; });
                    log_info("rules reloaded: " + std::to_string(loaded.rules->rules.size()) +
                             " rules");
                }
                if (listener_tls_) {
                    // New connections get the new certificate; open ones keep the context they
                    // began with.
                    auto tls = make_server_tls_context(cfg_.tls_cert, cfg_.tls_key);
                    if (!tls.context) {
                        log_error(
                            "certificate reload refused, the previous certificate keeps serving: " +
                            tls.error);
                    } else {
                        for (auto& w : workers_)
                            net::post(w->ioc, [&w = *w, c = tls.context] { w.server_tls = c; });
                        log_info("certificate reloaded from " + cfg_.tls_cert);
                    }
                }
            } else if (!draining) {
                draining = true;
                log_info("draining: no new connections, in-flight requests get up to " +
                         std::to_string(cfg_.drain_timeout.count()) + " ms");
                for (auto& w : workers_) {
                    net::post(w->ioc, [&w = *w] {
                        w.draining = true;
                        boost::system::error_code ignored;
                        w.acceptor->close(ignored);
                        for (auto* s : w.sessions) s->close_if_idle();
                        w.pool.close_all();
                    });
                }
                drain_deadline.expires_after(cfg_.drain_timeout);
                drain_deadline.async_wait([&](boost::system::error_code tec) {
                    if (tec) return;
                    log_error("drain deadline passed, closing the remaining connections");
                    for (auto& w : workers_) w->ioc.stop();
                });
            }
            signals.async_wait(on_signal);
        };
    signals.async_wait(on_signal);
    main_ioc.run();
    for (auto& t : threads) t.join();
    log_info("stopped");
    return 0;
}

}  // namespace shimgate
