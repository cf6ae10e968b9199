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

// The samples of one histogram; `labels` is empty or `name="value",` (escaped, comma included).
void histogram_samples(std::string& out, std::string_view name, std::string_view labels,
                       const latency_histogram& h) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
        cumulative += h.buckets[i];
        out += prefix;
        out += name;
        out += "_bucket{";
        out += labels;
        out += "le=\"";
        if (i < latency_histogram::bounds.size())
            append_double(out, latency_histogram::bounds[i]);
        else
            out += "+Inf";
        out += "\"} ";
        append_uint(out, cumulative);
        out.push_back('\n');
    }
    // `rule="x",` becomes `{rule="x"}` on the sum and count.
    const std::string_view bare = labels.empty() ? labels : labels.substr(0, labels.size() - 1);
    for (const bool sum : {true, false}) {
        out += prefix;
        out += name;
        out += sum ? "_sum" : "_count";
        if (!bare.empty()) {
            out.push_back('{');
            out += bare;
            out.push_back('}');
        }
        out.push_back(' ');
        if (sum) {
            append_double(out, h.sum);
        } else {
            append_uint(out, h.count);
        }
        out.push_back('\n');
    }
}

void histogram(std::string& out, std::string_view name, std::string_view help,
               const latency_histogram& h) {
    header(out, name, "histogram", help);
    histogram_samples(out, name, {}, h);
}

// A process_* family (the standard names, no shimgate_ prefix) with one sample.
void process_series(std::string& out, std::string_view name, std::string_view type,
                    std::string_view help, double value) {
    out += "# HELP process_";
    out += name;
    out.push_back(' ');
    out += help;
    out += "\n# TYPE process_";
    out += name;
    out.push_back(' ');
    out += type;
    out += "\nprocess_";
    out += name;
    out.push_back(' ');
    append_double(out, value);
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
    header(out, "request_duration_seconds", "histogram",
           "Whole request by route rule (pass-through for unmatched): head complete to answer "
           "written.");
    std::string labels;
    for (const auto& [rule, h] : s.requests.duration_by_rule) {
        labels = "rule=\"";
        append_prometheus_label_value(labels, rule.empty() ? "pass-through" : rule);
        labels += "\",";
        histogram_samples(out, "request_duration_seconds", labels, h);
    }
    header(out, "requests_in_flight", "gauge",
           "Requests whose head was read and whose answer is not yet finished.");
    out += prefix;
    out += "requests_in_flight ";
    out += std::to_string(s.requests.requests_in_flight);
    out.push_back('\n');

    single(out, "upstream_resets_total", "counter",
           "Answers the upstream cut short after their head went to the client (each also counted "
           "in requests_total as status 502).",
           s.requests.upstream_resets);
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
    header(out, "rule_reloads_total", "counter",
           "Rule reloads (SIGHUP) by result: applied, or refused because the new set was invalid.");
    out += prefix;
    out += "rule_reloads_total{result=\"applied\"} ";
    append_uint(out, s.process.rule_reloads_applied);
    out += "\n";
    out += prefix;
    out += "rule_reloads_total{result=\"refused\"} ";
    append_uint(out, s.process.rule_reloads_refused);
    out += "\n";
    single(out, "rule_reload_failures_total", "counter",
           "Rule reloads refused (the same as rule_reloads_total{result=\"refused\"}).",
           s.process.rule_reloads_refused);
    header(out, "last_reload_success_timestamp_seconds", "gauge",
           "When the rules now serving were loaded (start-up or SIGHUP), seconds since the epoch.");
    out += prefix;
    out += "last_reload_success_timestamp_seconds ";
    append_double(out, s.process.last_reload_success_seconds);
    out.push_back('\n');
    single(out, "rules_loaded", "gauge", "Rules in the rule set now serving.",
           s.process.rules_loaded);
    single(out, "ready", "gauge", "1 when rules are loaded and the server is not draining.",
           s.process.ready ? 1 : 0);

    header(out, "deprecated_calls_total", "counter",
           "Calls of deprecated routes by clients the ledger knows, by outcome (ok: upstream 2xx, "
           "gone: 410 brownout or sunset, error: anything else); at most 1000 clients per rule, "
           "the rest as client=\"other\".");
    for (const auto& c : s.ledger.calls) {
        for (auto [outcome, n] :
             {std::pair{"ok", c.ok}, std::pair{"gone", c.gone}, std::pair{"error", c.error}}) {
            out += prefix;
            out += "deprecated_calls_total{rule=\"";
            append_prometheus_label_value(out, c.rule);
            out += "\",client=\"";
            append_prometheus_label_value(out, c.client);
            out += "\",outcome=\"";
            out += outcome;
            out += "\"} ";
            append_uint(out, n);
            out.push_back('\n');
        }
    }
    single(out, "ledger_flush_failures_total", "counter",
           "Writes or reads of the client ledger's store that failed (the calls are kept and "
           "written when it is back).",
           s.ledger.flush_failures);
    single(out, "ledger_dropped_calls_total", "counter",
           "Calls of known clients not kept because the unwritten deltas reached their bound "
           "while the ledger's store was unreachable.",
           s.ledger.dropped);

    header(out, "build_info", "gauge", "Build information; the value is always 1.");
    out += prefix;
    out += "build_info{version=\"";
    append_prometheus_label_value(out, s.version);
    out += "\",simdjson_kernel=\"";
    append_prometheus_label_value(out, s.simdjson_kernel);
    out += "\"} 1\n";

    if (s.proc.valid) {
        process_series(out, "start_time_seconds", "gauge",
                       "Start time of the process since unix epoch in seconds.",
                       s.proc.start_time_seconds);
        process_series(out, "cpu_seconds_total", "counter",
                       "Total user and system CPU time spent in seconds.", s.proc.cpu_seconds);
        process_series(out, "resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                       static_cast<double>(s.proc.resident_memory_bytes));
        process_series(out, "open_fds", "gauge", "Number of open file descriptors.",
                       static_cast<double>(s.proc.open_fds));
        process_series(out, "max_fds", "gauge", "Maximum number of open file descriptors.",
                       static_cast<double>(s.proc.max_fds));
    }
    return out;
}

}  // namespace shimgate
