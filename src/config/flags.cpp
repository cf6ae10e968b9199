#include "config/flags.hpp"

#include <boost/program_options.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <thread>

#include "ledger/ledger_store.hpp"

namespace shimgate {
namespace {

namespace po = boost::program_options;

bool parse_port(std::string_view s, std::uint16_t& port) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v > 65535) return false;
    port = static_cast<std::uint16_t>(v);
    return true;
}

bool parse_seconds(const std::string& s, std::chrono::milliseconds& out) {
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !(v > 0) || !std::isfinite(v) ||
        v > 86400 * 365)
        return false;
    out = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(v * 1000)));
    return true;
}

template <class Int>
bool parse_count(const std::string& s, Int& out) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v == 0 ||
        v > static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))
        return false;
    out = static_cast<Int>(v);
    return true;
}

po::options_description describe() {
    po::options_description d(
        "Usage: shimgate --listen HOST:PORT --upstream URL --rules DIR [options]");
    // Values are taken as strings and checked by hand, so every message names its flag the same
    // way.
    d.add_options()("help,h", "print this help and exit")(
        "version", "print the version and the source revision, and exit")(
        "listen", po::value<std::string>(),
        "HOST:PORT to serve clients on (port 0 picks a free port)")(
        "upstream", po::value<std::string>(),
        "http://host:port or https://host:port, optionally with a path prefix")(
        "rules", po::value<std::string>(), "directory of dialect rule files (*.json)")(
        "check-rules", po::value<std::string>(),
        "validate the rule files of DIR and exit (like nginx -t)")(
        "tls-cert", po::value<std::string>(),
        "certificate chain file (PEM): serve HTTPS on --listen")(
        "tls-key", po::value<std::string>(), "private key file (PEM) for --tls-cert")(
        "upstream-ca", po::value<std::string>(),
        "CA bundle to verify an https:// upstream (default: system store)")(
        "admin", po::value<std::string>(),
        "HOST:PORT for /healthz, /readyz, /metrics (never the public listener)")(
        "threads", po::value<std::string>(),
        "worker threads, one io_context each (default: number of cores)")(
        "log-format", po::value<std::string>(), "json or text (default: text)")(
        "access-log", po::value<std::string>(), "access log FILE, or - for stdout")(
        "server-timing",
        "add Server-Timing: shim;dur=<ms>, upstream;dur=<ms> to every answer (default: off)")(
        "upstream-timeout", po::value<std::string>(),
        "seconds to wait for the upstream's answer (default 30)")(
        "connect-timeout", po::value<std::string>(),
        "seconds to connect to the upstream (default 5)")(
        "header-timeout", po::value<std::string>(),
        "seconds for a whole request head, from its first byte (default 10)")(
        "idle-timeout", po::value<std::string>(),
        "seconds a keep-alive connection may idle (default 60)")(
        "drain-timeout", po::value<std::string>(),
        "seconds in-flight requests get on SIGTERM (default 30)")(
        "drain-delay", po::value<std::string>(),
        "seconds to keep accepting after SIGTERM, with /readyz 503, before the drain (default 0)")(
        "trusted-proxies", po::value<std::string>(),
        "CIDR[,CIDR...] of load balancers whose X-Forwarded-For/-Proto/-Host are kept "
        "(default none)")(
        "ready-requires-upstream",
        "/readyz also needs a TCP connect to the upstream within 1 s (default: not)")(
        "upstream-idle-timeout", po::value<std::string>(),
        "seconds an idle upstream connection stays pooled (default 4; less if the upstream's "
        "Keep-Alive says so)")(
        "dns-refresh", po::value<std::string>(),
        "seconds between lookups of the --upstream name (default 30; a failed one keeps the "
        "last answer)")("eject-time", po::value<std::string>(),
                        "seconds an upstream address whose connect failed is skipped (default 10)")(
        "body-timeout", po::value<std::string>(),
        "seconds for a whole request body, from its head (default 60)")(
        "max-body", po::value<std::string>(), "largest request body in bytes (default 1048576)")(
        "max-buffered-bytes", po::value<std::string>(),
        "translated bodies held in memory at once, process-wide (default 268435456)")(
        "max-header-bytes", po::value<std::string>(),
        "largest header block in bytes (default 16384)")(
        "max-header-fields", po::value<std::string>(), "most header fields (default 100)")(
        "max-connections", po::value<std::string>(),
        "most open client connections (default 10000)")(
        "ledger", po::value<std::string>(),
        "where the client ledger of deprecated routes is kept: sqlite:PATH, "
        "postgresql://user:pass@host:port/db or none (default sqlite:shimgate-ledger.sqlite3)")(
        "ledger-flush", po::value<std::string>(),
        "seconds between writes of the ledger's new calls (default 5)")(
        "clients", po::value<std::string>(),
        "JSON file naming clients: {\"<fingerprint>\": \"name\"} (reloaded on SIGHUP)");
    return d;
}

std::string fail(std::string_view flag, std::string_view what) {
    std::string s = "--";
    s += flag;
    s += ": ";
    s += what;
    return s;
}

}  // namespace

std::string parse_host_port(std::string_view text, host_port& out) {
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return "expected [IPv6]:PORT";
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return "expected HOST:PORT";
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return "an IPv6 address must be in brackets: [::1]:PORT";
    }
    if (host.empty()) return "empty host";
    if (!parse_port(port, out.port)) return "invalid port \"" + std::string(port) + "\"";
    out.host = std::string(host);
    return {};
}

std::string parse_upstream_url(std::string_view text, upstream_url& out) {
    std::string_view rest;
    if (text.starts_with("http://")) {
        out.tls = false;
        rest = text.substr(7);
    } else if (text.starts_with("https://")) {
        out.tls = true;
        rest = text.substr(8);
    } else {
        return "expected http://host:port or https://host:port";
    }
    auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view prefix =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (prefix.find_first_of("?#") != std::string_view::npos) return "no query or fragment allowed";
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    if (authority.find('@') != std::string_view::npos) return "no user info allowed";
    host_port hp;
    bool bracketed = !authority.empty() && authority.front() == '[';
    bool has_port = bracketed ? authority.find("]:") != std::string_view::npos
                              : authority.find(':') != std::string_view::npos;
    if (has_port) {
        if (auto e = parse_host_port(authority, hp); !e.empty()) return e;
    } else {
        hp.host = std::string(bracketed ? authority.substr(1, authority.size() - 2) : authority);
        hp.port = out.tls ? 443 : 80;
        if (hp.host.empty()) return "empty host";
    }
    out.host = hp.host;
    out.port = hp.port;
    out.prefix = std::string(prefix);
    bool v6 = out.host.find(':') != std::string::npos;
    out.host_header = (v6 ? "[" + out.host + "]" : out.host) + ":" + std::to_string(out.port);
    return {};
}

namespace {
// Milliseconds as seconds, as few decimals as needed ("30", "0.5", "1.25").
std::string seconds_text(std::chrono::milliseconds ms) {
    std::string s = std::to_string(ms.count() / 1000);
    if (const auto frac = ms.count() % 1000; frac != 0) {
        std::string f = ".000";
        f[1] = static_cast<char>('0' + frac / 100);
        f[2] = static_cast<char>('0' + frac / 10 % 10);
        f[3] = static_cast<char>('0' + frac % 10);
        while (f.back() == '0') f.pop_back();
        s += f;
    }
    return s;
}
}  // namespace

std::string describe_flags(const config& c) {
    const auto host = [](const std::string& h) {
        return h.find(':') != std::string::npos ? "[" + h + "]" : h;
    };
    std::string s = "--listen " + host(c.listen.host) + ":" + std::to_string(c.listen.port);
    s += " --upstream " + std::string(c.upstream.tls ? "https://" : "http://") +
         c.upstream.host_header + c.upstream.prefix;
    s += " --rules " + c.rules_dir;
    if (!c.tls_cert.empty()) s += " --tls-cert " + c.tls_cert + " --tls-key " + c.tls_key;
    if (!c.upstream_ca.empty()) s += " --upstream-ca " + c.upstream_ca;
    if (!c.admin.empty()) s += " --admin " + c.admin;
    s += " --threads " + std::to_string(c.threads);
    s += " --log-format " + c.log_format;
    if (!c.access_log.empty()) s += " --access-log " + c.access_log;
    s += " --upstream-timeout " + seconds_text(c.upstream_timeout);
    s += " --connect-timeout " + seconds_text(c.connect_timeout);
    s += " --header-timeout " + seconds_text(c.header_timeout);
    s += " --idle-timeout " + seconds_text(c.idle_timeout);
    s += " --drain-timeout " + seconds_text(c.drain_timeout);
    s += " --max-body " + std::to_string(c.max_body);
    s += " --max-header-bytes " + std::to_string(c.max_header_bytes);
    s += " --max-header-fields " + std::to_string(c.max_header_fields);
    s += " --max-connections " + std::to_string(c.max_connections);
    if (c.server_timing) s += " --server-timing";
    s += " --ledger " + ledger_source(c.ledger);
    s += " --ledger-flush " + seconds_text(c.ledger_flush);
    if (!c.clients_file.empty()) s += " --clients " + c.clients_file;
    return s;
}

flags_result parse_flags(int argc, const char* const* argv) {
    flags_result r;
    auto desc = describe();
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    } catch (const po::error& e) {
        r.error = e.what();
        return r;
    }
    if (vm.count("help")) {
        std::ostringstream os;
        os << desc;
        r.help = os.str();
        return r;
    }
    if (vm.count("version")) {
        r.version = true;
        return r;
    }
    auto get = [&](const char* name) -> std::string {
        return vm.count(name) ? vm[name].as<std::string>() : std::string();
    };
    config& c = r.cfg;
    if (vm.count("check-rules")) {
        r.check_rules_only = true;
        c.rules_dir = get("check-rules");
        return r;
    }
    for (const char* required : {"listen", "upstream", "rules"}) {
        if (!vm.count(required)) {
            r.error = fail(required, "is required (see --help)");
            return r;
        }
    }
    if (auto e = parse_host_port(get("listen"), c.listen); !e.empty())
        return r.error = fail("listen", e), r;
    if (auto e = parse_upstream_url(get("upstream"), c.upstream); !e.empty())
        return r.error = fail("upstream", e), r;
    c.rules_dir = get("rules");
    c.tls_cert = get("tls-cert");
    c.tls_key = get("tls-key");
    c.upstream_ca = get("upstream-ca");
    c.admin = get("admin");
    c.access_log = get("access-log");
    c.server_timing = vm.count("server-timing") != 0;
    if (vm.count("ledger")) c.ledger = get("ledger");
    c.clients_file = get("clients");
    if (c.tls_cert.empty() != c.tls_key.empty())
        return r.error = fail(c.tls_cert.empty() ? "tls-key" : "tls-cert",
                              "needs --tls-cert and --tls-key together"),
               r;
    if (!c.admin.empty()) {
        host_port hp;
        if (auto e = parse_host_port(c.admin, hp); !e.empty()) return r.error = fail("admin", e), r;
    }
    c.threads = std::max(1u, std::thread::hardware_concurrency());
    if (vm.count("threads") && (!parse_count(get("threads"), c.threads) || c.threads > 256))
        return r.error = fail("threads", "expected a count from 1 to 256"), r;
    if (vm.count("log-format")) {
        c.log_format = get("log-format");
        if (c.log_format != "json" && c.log_format != "text")
            return r.error =
                       fail("log-format", "expected json or text, got \"" + c.log_format + "\""),
                   r;
    }
    struct duration_flag {
        const char* name;
        std::chrono::milliseconds* out;
    };
    for (auto [name, out] :
         {duration_flag{"upstream-timeout", &c.upstream_timeout},
          duration_flag{"connect-timeout", &c.connect_timeout},
          duration_flag{"header-timeout", &c.header_timeout},
          duration_flag{"idle-timeout", &c.idle_timeout},
          duration_flag{"drain-timeout", &c.drain_timeout},
          duration_flag{"upstream-idle-timeout", &c.upstream_idle_timeout},
          duration_flag{"dns-refresh", &c.dns_refresh}, duration_flag{"eject-time", &c.eject_time},
          duration_flag{"body-timeout", &c.body_timeout},
          duration_flag{"ledger-flush", &c.ledger_flush}}) {
        if (vm.count(name) && !parse_seconds(get(name), *out))
            return r.error = fail(
                       name, "expected a positive number of seconds, got \"" + get(name) + "\""),
                   r;
    }
    if (vm.count("drain-delay")) {
        const std::string v = get("drain-delay");
        double zero = -1;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), zero);
        if (ec == std::errc() && end == v.data() + v.size() && zero == 0) {
            c.drain_delay = std::chrono::milliseconds(0);
        } else if (!parse_seconds(v, c.drain_delay)) {
            return r.error = fail("drain-delay",
                                  "expected a number of seconds, 0 or more, got \"" + v + "\""),
                   r;
        }
    }
    if (vm.count("trusted-proxies")) {
        if (auto e = c.trusted.parse(get("trusted-proxies")); !e.empty())
            return r.error = fail("trusted-proxies", e), r;
    }
    c.ready_requires_upstream = vm.count("ready-requires-upstream") != 0;
    if (vm.count("max-body") && !parse_count(get("max-body"), c.max_body))
        return r.error = fail("max-body", "expected a positive byte count"), r;
    if (vm.count("max-buffered-bytes") &&
        !parse_count(get("max-buffered-bytes"), c.max_buffered_bytes))
        return r.error = fail("max-buffered-bytes", "expected a positive byte count"), r;
    if (vm.count("max-header-bytes") && !parse_count(get("max-header-bytes"), c.max_header_bytes))
        return r.error = fail("max-header-bytes", "expected a positive byte count"), r;
    if (vm.count("max-header-fields") &&
        !parse_count(get("max-header-fields"), c.max_header_fields))
        return r.error = fail("max-header-fields", "expected a positive count"), r;
    if (vm.count("max-connections") && !parse_count(get("max-connections"), c.max_connections))
        return r.error = fail("max-connections", "expected a positive count"), r;
    return r;
}

}  // namespace shimgate
