#include "observe/metrics_text.hpp"

#include <charconv>
#include <cmath>

namespace shimgate {

namespace {

constexpr std::string_view prefix = "shimgate_";

void append_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out.append(buf, end);
}

// Shortest text that reads back as the same double ("0.0025", "1", "5", "0.123"); no locale.
void append_double(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    // Plain decimals for the usual magnitudes ("0.0005", not "5e-04"), exponents beyond them.
    const double magnitude = std::fabs(v);
    const bool fixed = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15);
    char buf[64];
    auto [end, ec] = fixed ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                           : std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out.append(buf, end);
}

// HELP text escapes backslash and line feed (not the double quote).
void append_help_text(std::string& out, std::string_view text) {
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out.push_back(c);
    }
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP ";
    out += prefix;
    out += name;
    out.push_back(' ');
    append_help_text(out, help);
    out += "\n# TYPE ";
    out += prefix;
    out += name;
    out.push_back(' ');
    out += type;
    out.push_back('\n');
}

// A family with one unlabelled sample.
void single(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            std::uint64_t value) {
    header(out, name, type, help);
    out += prefix;
    out += name;
    out.push_back(' ');
    append_uint(out, value);
    out.push_back('\n');
}

void histogram(std::string& out, std::string_view name, std::string_view help,
               const latency_histogram& h) {
    header(out, name, "histogram", help);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
        cumulative += h.buckets[i];
        out += prefix;
        out += name;
        out += "_bucket{le=\"";
        if (i < latency_histogram::bounds.size())
            append_double(out, latency_histogram::bounds[i]);
        else
            out += "+Inf";
        out += "\"} ";
        append_uint(out, cumulative);
        out.push_back('\n');
    }
    out += prefix;
    out += name;
    out += "_sum ";
    append_double(out, h.sum);
    out.push_back('\n');
    out += prefix;
    out += name;
    out += "_count ";
    append_uint(out, h.count);
    out.push_back('\n');
}

}  // namespace

void append_prometheus_label_value(std::string& out, std::string_view value) {
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out.push_back(c);
    }
}

std::string render_prometheus(const metrics_snapshot& s) {
    std::string out;
    out.reserve(4096 + s.requests.requests.size() * 96);

    header(
        out, "requests_total", "counter",
        "Finished requests by route rule (pass-through for unmatched), dialect and status sent.");
    for (const auto& [key, n] : s.requests.requests) {
        out += prefix;
        out += "requests_total{rule=\"";
        append_prometheus_label_value(out, key.rule.empty() ? "pass-through" : key.rule);
        out += "\",dialect=\"";
        append_prometheus_label_value(out, key.dialect);
        out += "\",status=\"";
        append_uint(out, key.status);
        out += "\"} ";
        append_uint(out, n);
        out.push_back('\n');
    }

    header(out, "refusals_total", "counter",
           "Requests the shim refused or failed itself, by reason.");
    for (std::size_t i = 0; i < refusal_reason_count; ++i) {
        out += prefix;
        out += "refusals_total{reason=\"";
        out += to_string(static_cast<refusal_reason>(i));
        out += "\"} ";
        append_uint(out, s.requests.refusals[i]);
        out.push_back('\n');
    }

    histogram(out, "upstream_latency_seconds",
              "Upstream exchange: first byte sent upstream to the whole answer read or relayed.",
              s.requests.upstream_latency);
    histogram(out, "request_duration_seconds", "Whole request: head complete to answer written.",
              s.requests.total_latency);

    single(out, "upstream_pool_idle_connections", "gauge",
           "Idle keep-alive upstream connections in the pools.", s.pool.idle);
    single(out, "upstream_connects_total", "counter", "New upstream connections established.",
           s.pool.connects);
    single(out, "upstream_connect_failures_total", "counter",
           "Upstream connection attempts that failed (refused, timed out, TLS handshake).",
           s.pool.connect_failures);
    single(out, "upstream_reuses_total", "counter",
           "Requests sent over a pooled keep-alive upstream connection.", s.pool.reuses);
    single(out, "upstream_stale_dropped_total", "counter",
           "Pooled upstream connections found closed or expired and dropped before use.",
           s.pool.stale_dropped);
    single(out, "upstream_tls_resumptions_total", "counter",
           "Upstream TLS handshakes that resumed a previous session.", s.pool.tls_resumed);
    single(out, "upstream_retries_total", "counter",
           "Requests sent once more on a new upstream connection after a reused one failed "
           "before any byte of the answer.",
           s.pool.retries);
    single(out, "open_connections", "gauge", "Open client connections.",
           s.process.open_connections);
    single(out, "rule_reloads_total", "counter", "Rule reloads applied (SIGHUP).",
           s.process.rule_reloads);
    single(out, "rule_reload_failures_total", "counter",
           "Rule reloads refused because the new set was invalid.", s.process.rule_reload_failures);
    single(out, "rules_loaded", "gauge", "Rules in the rule set now serving.",
           s.process.rules_loaded);
    single(out, "ready", "gauge", "1 when rules are loaded and the server is not draining.",
           s.process.ready ? 1 : 0);

    header(out, "build_info", "gauge", "Build information; the value is always 1.");
    out += prefix;
    out += "build_info{version=\"";
    append_prometheus_label_value(out, s.version);
    out += "\",simdjson_kernel=\"";
    append_prometheus_label_value(out, s.simdjson_kernel);
    out += "\"} 1\n";
    return out;
}

}  // namespace shimgate
