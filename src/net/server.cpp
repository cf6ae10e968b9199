#include "net/server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <thread>
#include <utility>

#include "config/rule_loader.hpp"
#include "json/simdjson_support.hpp"
#include "ledger/ledger_service.hpp"
#include "net/session.hpp"
#include "net/upstream_resolver.hpp"
#include "net/worker.hpp"
#include "observe/admin.hpp"
#include "observe/log.hpp"
#include "observe/migration_page.hpp"
#include "observe/process_stats.hpp"

namespace shimgate {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Hands the worker's access-log lines to the writer thread every 200 ms (and when the buffer fills,
// see client_session::finish_request), so a quiet server's lines still appear promptly.
net::awaitable<void> flush_access_lines(worker& w) {
    net::steady_timer tick(w.ioc);
    while (!w.draining) {
        tick.expires_after(std::chrono::milliseconds(200));
        co_await tick.async_wait(net::as_tuple(net::use_awaitable));
        if (!w.access_lines.empty()) w.access->submit(w.access_lines);
    }
}

// Enforces the deadlines of the worker's sockets (timed_socket): one timer for all of them. Runs
// until the worker drains and its last socket is gone.
net::awaitable<void> deadline_sweeper(worker& w) {
    const config& c = w.cfg;
    auto period = sweep_period(std::min({c.upstream_timeout, c.connect_timeout, c.header_timeout,
                                         c.idle_timeout, c.upstream_idle_timeout, c.body_timeout}));
    net::steady_timer tick(w.ioc);
    while (!w.draining || !w.deadlines.empty()) {
        tick.expires_after(period);
        co_await tick.async_wait(net::as_tuple(net::use_awaitable));
        sweep_deadlines(w.deadlines, std::chrono::steady_clock::now());
        w.pool.drop_closed();  // idle upstream connections the sweep closed
    }
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
        auto session = std::make_unique<client_session>(w, std::move(socket), w.server_tls);
        client_session& s = *session;
        net::co_spawn(w.ioc, s.run(std::move(session)), net::detached);
    }
}

double seconds_since_epoch() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string describe(const tcp::endpoint& ep) {
    auto a = ep.address();
    std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
    return host + ":" + std::to_string(ep.port());
}

// One owner per port. Linux lets any socket of the same user join a port whose listeners all set
// SO_REUSEPORT, so a second shimgate on the same --listen would silently take a share of the
// connections. Before the workers bind theirs, a socket WITHOUT SO_REUSEPORT is bound to the
// address: the kernel refuses that (EADDRINUSE) whenever any socket listens there, whatever its
// options. SO_REUSEADDR keeps a previous run's TIME_WAIT connections from counting. With port 0 it
// picks the port the workers then share. The probe is closed before the workers bind (a bound
// socket without SO_REUSEPORT would keep them out too); two processes starting within that
// instant could still both pass. The alternative, one listening socket shared by every worker,
// closes that window but gives up the kernel's even spread of connections over the workers.
boost::system::error_code claim_port(tcp::endpoint& ep) {
    boost::system::error_code ec;
    net::io_context ioc(1);
    tcp::acceptor probe(ioc);
    probe.open(ep.protocol(), ec);
    if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) probe.bind(ep, ec);
    if (!ec) ep = probe.local_endpoint(ec);
    return ec;
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
               tls_context_ptr upstream_tls, std::unique_ptr<access_log> access,
               std::unique_ptr<ledger_store> ledger, client_names names)
    : cfg_(std::move(cfg)),
      listener_tls_(std::move(listener_tls)),
      upstream_tls_(std::move(upstream_tls)),
      access_(std::move(access)),
      ledger_store_(std::move(ledger)),
      shown_{std::move(rules), std::make_shared<const client_names>(std::move(names))} {
    rules_loaded_ = shown_.rules ? shown_.rules->rules.size() : 0;
    last_reload_success_ = seconds_since_epoch();
}

server::~server() = default;

int server::run() {
    std::signal(SIGPIPE, SIG_IGN);
    net::io_context main_ioc(1);
    boost::system::error_code ec;
    // Signals are caught before "listening" is announced: a SIGHUP or SIGTERM sent as soon as the
    // line appears must be handled, not kill the process by its default action.
    net::signal_set signals(main_ioc, SIGINT, SIGTERM, SIGHUP);
    signals.add(SIGUSR1);

    tcp::resolver resolver(main_ioc);
    auto up = resolver.resolve(cfg_.upstream.host, std::to_string(cfg_.upstream.port), ec);
    if (ec || up.empty()) {
        log_error("--upstream: cannot resolve \"" + cfg_.upstream.host + "\": " + ec.message());
        return 1;
    }
    for (const auto& e : up) upstream_endpoints_.push_back(e.endpoint());

    auto listen = resolver.resolve(cfg_.listen.host, std::to_string(cfg_.listen.port), ec);
    if (ec || listen.empty()) {
        log_error("--listen: cannot resolve \"" + cfg_.listen.host + "\": " + ec.message());
        return 1;
    }
    tcp::endpoint endpoint = listen.begin()->endpoint();
    if (auto owned = claim_port(endpoint)) {
        log_error("--listen " + describe(endpoint) + ": " +
                  (owned == net::error::address_in_use
                       ? std::string("address already in use by another process")
                       : owned.message()));
        return 1;
    }

    for (unsigned i = 0; i < cfg_.threads; ++i) {
        auto w =
            std::make_unique<worker>(cfg_, upstream_endpoints_, now_shown().rules, listener_tls_,
                                     upstream_tls_, open_connections_, known_clients_);
        w->access = access_.get();
        w->budget = &budget_;
        w->acceptor.emplace(w->ioc);
        if (auto bind_ec = open_acceptor(*w->acceptor, endpoint)) {
            log_error("--listen " + describe(endpoint) + ": " + bind_ec.message());
            return 1;
        }
        workers_.push_back(std::move(w));
    }
    std::vector<ledger_recorder*> recorders;
    for (auto& w : workers_) recorders.push_back(&w->ledger);
    ledger_ =
        std::make_unique<ledger_service>(std::move(ledger_store_), ledger_source(cfg_.ledger),
                                         cfg_.ledger_flush, std::move(recorders), known_clients_);
    if (!start_admin()) return 1;
    ledger_->start();
    log_info("client ledger: " + ledger_source(cfg_.ledger) +
             (cfg_.ledger == "none"
                  ? std::string(", lost at exit")
                  : ", written every " + std::to_string(cfg_.ledger_flush.count()) + " ms"));
    log_info(std::string("listening on ") + (listener_tls_ ? "https://" : "http://") +
             describe(endpoint) + " (upstream " + (cfg_.upstream.tls ? "https://" : "http://") +
             cfg_.upstream.host_header + cfg_.upstream.prefix + ", " +
             std::to_string(cfg_.threads) + " threads, " + std::to_string(rules_loaded_) +
             " rules, simdjson " + simdjson_kernel() + " kernel)");

    // Each new answer for the --upstream name goes to every worker's pool.
    start_upstream_refresh(
        main_ioc, cfg_.upstream, cfg_.dns_refresh, [this](std::vector<tcp::endpoint> answer) {
            for (auto& w : workers_)
                net::post(w->ioc, [&w = *w, answer] { w.pool.set_addresses(answer); });
        });

    std::size_t finished = 0;
    std::vector<std::thread> threads;
    for (auto& w : workers_) {
        net::co_spawn(w->ioc, accept_loop(*w), net::detached);
        net::co_spawn(w->ioc, deadline_sweeper(*w), net::detached);
        if (w->access) net::co_spawn(w->ioc, flush_access_lines(*w), net::detached);
        threads.emplace_back([&w = *w, &main_ioc, &finished, this] {
            w.ioc.run();
            if (w.access && !w.access_lines.empty()) w.access->submit(w.access_lines);
            net::post(main_ioc, [&] {
                if (++finished == workers_.size()) main_ioc.stop();
            });
        });
    }

    net::steady_timer drain_deadline(main_ioc), drain_delay(main_ioc);
    bool drain_begun = false;
    // The drain of contract §1, with its deadline. Readiness is already false (draining_).
    auto begin_drain = [&] {
        if (std::exchange(drain_begun, true)) return;
        start_drain();
        drain_deadline.expires_after(cfg_.drain_timeout);
        drain_deadline.async_wait([&](boost::system::error_code tec) {
            if (tec) return;
            log_error("drain deadline passed, closing the remaining connections");
            for (auto& w : workers_) w->ioc.stop();
        });
    };
    std::function<void(boost::system::error_code, int)> on_signal =
        [&](boost::system::error_code sec, int sig) {
            if (sec) return;
            if (sig == SIGHUP) {
                reload();
            } else if (sig == SIGUSR1) {
                if (access_) {
                    access_->reopen();
                    log_info("access log reopened: " + cfg_.access_log);
                }
            } else if (draining_.exchange(true)) {
                begin_drain();  // a second SIGTERM/SIGINT cuts the --drain-delay short
            } else if (cfg_.drain_delay.count() > 0) {
                // Not ready at once, but still accepting and serving while the load balancer
                // notices; then the drain.
                log_info("not ready; the drain begins in " +
                         std::to_string(cfg_.drain_delay.count()) + " ms (--drain-delay)");
                drain_delay.expires_after(cfg_.drain_delay);
                drain_delay.async_wait([&](boost::system::error_code dec) {
                    if (!dec) begin_drain();
                });
            } else {
                begin_drain();
            }
            signals.async_wait(on_signal);
        };
    signals.async_wait(on_signal);
    main_ioc.run();
    for (auto& t : threads) t.join();
    if (admin_) admin_->stop();
    ledger_->stop();  // writes what the workers still hold
    access_.reset();  // writes what is left
    log_info("stopped");
    return 0;
}

bool server::start_admin() {
    if (cfg_.admin.empty()) return true;
    admin_sources sources;
    sources.collect = [this] { return collect(); };
    sources.migration = [this](bool json) { return migration(json); };
    sources.ready = [this] { return ready(); };
    sources.require_upstream = cfg_.ready_requires_upstream;
    std::string error;
    admin_ = admin_server::start(cfg_.admin, upstream_endpoints_, std::move(sources), error);
    if (!admin_) {
        log_error(error);
        return false;
    }
    auto host = cfg_.admin.substr(0, cfg_.admin.rfind(':'));
    log_info("admin listening on http://" + host + ":" + std::to_string(admin_->port()));
    return true;
}

bool server::ready() const {
    return !draining_.load() && rules_loaded_.load() > 0;
}

void server::reload() {
    auto loaded = load_rules(cfg_.rules_dir);
    if (!loaded.rules) {
        ++rule_reloads_refused_;
        log_error("rule reload refused, the previous rules keep serving: " + loaded.error);
    } else {
        rules_loaded_ = loaded.rules->rules.size();
        ++rule_reloads_applied_;
        last_reload_success_ = seconds_since_epoch();
        for (auto& w : workers_) net::post(w->ioc, [&w = *w, rs = loaded.rules] { w.rules = rs; });
        {
            std::lock_guard lock(shown_mutex_);
            shown_.rules = loaded.rules;
        }
        log_info("rules reloaded: " + std::to_string(loaded.rules->rules.size()) + " rules");
    }
    if (!cfg_.clients_file.empty()) {
        client_names_or_error names = load_client_names(cfg_.clients_file);
        if (!names.error.empty()) {
            log_error("client names reload refused, the previous names stay: " + names.error);
        } else {
            const std::size_t n = names.names.size();
            {
                std::lock_guard lock(shown_mutex_);
                shown_.names = std::make_shared<const client_names>(std::move(names.names));
            }
            log_info("client names reloaded: " + std::to_string(n) + " names");
        }
    }
    if (listener_tls_) {
        // New connections get the new certificate; open ones keep the context they began with.
        auto tls = make_server_tls_context(cfg_.tls_cert, cfg_.tls_key);
        if (!tls.context) {
            log_error("certificate reload refused, the previous certificate keeps serving: " +
                      tls.error);
        } else {
            for (auto& w : workers_)
                net::post(w->ioc, [&w = *w, c = tls.context] { w.server_tls = c; });
            log_info("certificate reloaded from " + cfg_.tls_cert);
        }
    }
}

// Readiness goes false first (draining_ is already set), then every worker stops accepting,
// closes idle connections and lets busy ones finish their current exchange.
void server::start_drain() {
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
}

net::awaitable<metrics_snapshot> server::collect() {
    metrics_snapshot m;
    for (auto& w : workers_) {
        if (w->ioc.stopped()) continue;  // drained: nobody would run the copy task
        auto part = co_await net::co_spawn(
            w->ioc,
            [&w = *w]() -> net::awaitable<std::pair<worker_metrics, pool_metrics>> {
                const pool_stats& ps = w.pool.stats();
                pool_metrics pm{w.pool.idle_count(), ps.connects,    ps.connect_failures, ps.reuses,
                                ps.stale_dropped,    ps.tls_resumed, ps.retries};
                co_return std::pair{w.metrics, pm};
            },
            net::use_awaitable);
        m.requests.add(part.first);
        m.pool.add(part.second);
    }
    m.process.open_connections = open_connections_.load();
    m.process.rule_reloads_applied = rule_reloads_applied_.load();
    m.process.rule_reloads_refused = rule_reloads_refused_.load();
    m.process.last_reload_success_seconds = last_reload_success_.load();
    m.proc = read_process_stats();  // on the admin thread, never a worker's
    m.process.rules_loaded = rules_loaded_.load();
    m.process.ready = ready();  // the admin listener adds the upstream probe when required
    m.version = SHIMGATE_VERSION;
    m.simdjson_kernel = simdjson_kernel();
    m.ledger = ledger_metrics();
    co_return m;
}

server::shown server::now_shown() {
    std::lock_guard lock(shown_mutex_);
    return shown_;
}

ledger_figures server::ledger_metrics() {
    ledger_figures f;
    const ledger_counts counts = ledger_->counts();
    const auto names = now_shown().names;
    for (const auto& [id, c] : counts.calls) {
        std::string client = "other";
        if (id.fingerprint != 0) {
            auto name = names->find(id.fingerprint);
            client = name != names->end() ? name->second : fingerprint_hex(id.fingerprint);
        }
        f.calls.push_back({id.rule, std::move(client), c.ok, c.gone, c.error});
    }
    f.flush_failures = counts.flush_failures;
    f.dropped = counts.dropped;
    return f;
}

net::awaitable<std::string> server::migration(bool json) {
    const ledger_view view = co_await ledger_->view();
    const shown s = now_shown();
    migration_input in{s.rules,
                       &view.data,
                       s.names.get(),
                       view.since,
                       view.source,
                       view.problem,
                       std::chrono::system_clock::now()};
    if (!json) co_return render_migration_html(in);
    std::string body = render_migration_json(in);
    body.push_back('\n');
    co_return body;
}

}  // namespace shimgate
