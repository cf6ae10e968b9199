#pragma once
// Request metrics. Each worker owns one `worker_metrics` and is the only thread that touches it:
// the request path takes no lock and no atomic. A scrape asks every worker (on its own thread) for
// a copy and merges the copies (`merge`), then renders them (observe/metrics_text).
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "observe/process_stats.hpp"
#include "proxy/refusal.hpp"

namespace shimgate {

const char* to_string(refusal_reason r) noexcept;

// Latency histogram with fixed buckets (seconds, 0.1 ms to 30 s), Prometheus style (cumulative on
// render).
struct latency_histogram {
    static constexpr std::array<double, 17> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                   0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                   1.0,    2.5,     5.0,    10.0,  30.0};
    std::array<std::uint64_t, bounds.size() + 1> buckets{};  // last: +Inf
    std::uint64_t count = 0;
    double sum = 0;

    void observe(std::chrono::nanoseconds d) noexcept;
    void add(const latency_histogram& other) noexcept;
};

struct request_key {
    std::string rule;     // rule name, or "" for pass-through
    std::string dialect;  // rule dialect, or ""
    unsigned status = 0;
    friend bool operator<(const request_key& a, const request_key& b) {
        return std::tie(a.rule, a.dialect, a.status) < std::tie(b.rule, b.dialect, b.status);
    }
};

// A borrowed request_key: count_request looks the map up with it, so counting an existing key
// allocates nothing.
struct request_key_view {
    std::string_view rule;
    std::string_view dialect;
    unsigned status = 0;
};
inline bool operator<(const request_key& a, const request_key_view& b) {
    return std::tie(a.rule, a.dialect, a.status) < std::tie(b.rule, b.dialect, b.status);
}
inline bool operator<(const request_key_view& a, const request_key& b) {
    return std::tie(a.rule, a.dialect, a.status) < std::tie(b.rule, b.dialect, b.status);
}

struct worker_metrics {
    // Finished requests by rule, dialect, status (transparent: looked up by request_key_view).
    std::map<request_key, std::uint64_t, std::less<>> requests;
    std::array<std::uint64_t, refusal_reason_count> refusals{};
    latency_histogram upstream_latency;  // first byte sent upstream -> whole answer read/relayed
    // Request head complete -> answer written, by rule name ("" for pass-through). One entry per
    // rule name ever served (bounded by the rule sets loaded), made on its first request: counting
    // a known rule allocates nothing.
    std::map<std::string, latency_histogram, std::less<>> duration_by_rule;
    std::int64_t requests_in_flight = 0;  // head read, answer not yet finished (a gauge)
    std::uint64_t upstream_resets = 0;    // answers cut short by the upstream after their head

    // Each returns where it counted (map nodes do not move).
    std::uint64_t& count_request(std::string_view rule, std::string_view dialect, unsigned status);
    void count_refusal(refusal_reason r) noexcept { ++refusals[static_cast<std::size_t>(r)]; }
    latency_histogram& observe_duration(std::string_view rule, std::chrono::nanoseconds d);
    // count_request and observe_duration at once: the same rule, dialect and status as the last
    // request (the usual case under load) cost a comparison instead of two map look-ups.
    void finish_request(std::string_view rule, std::string_view dialect, unsigned status,
                        std::chrono::nanoseconds d);
    void add(const worker_metrics& other);

  private:
    // Where the last finished request was counted. A copy (a scrape's) starts without one: its
    // pointers would be the original's.
    struct last_counted {
        std::string rule, dialect;
        unsigned status = 0;
        std::uint64_t* count = nullptr;
        latency_histogram* duration = nullptr;
        last_counted() = default;
        last_counted(const last_counted&) noexcept {}
        last_counted& operator=(const last_counted&) noexcept {
            count = nullptr;
            duration = nullptr;
            return *this;
        }
    };
    last_counted last_;
};

// Pool figures, copied from each worker's upstream_pool at scrape time.
struct pool_metrics {
    std::uint64_t idle = 0, connects = 0, connect_failures = 0, reuses = 0, stale_dropped = 0,
                  tls_resumed = 0, retries = 0;
    void add(const pool_metrics& o) noexcept {
        idle += o.idle, connects += o.connects, connect_failures += o.connect_failures;
        reuses += o.reuses, stale_dropped += o.stale_dropped, tls_resumed += o.tls_resumed;
        retries += o.retries;
    }
};

// Process-wide figures, owned by the server's main thread (atomics: read by the admin thread).
struct process_figures {
    std::uint64_t open_connections = 0;
    std::uint64_t rule_reloads_applied = 0, rule_reloads_refused = 0;
    double last_reload_success_seconds = 0;  // the start-up load or the last applied SIGHUP
    std::uint64_t rules_loaded = 0;
    bool ready = false;
};

// Everything a /metrics scrape shows.
// The client ledger's counters (contract §6.2), since this process started.
struct ledger_figures {
    struct series {
        std::string rule, client;  // client: its --clients name, its fingerprint, or "other"
        std::uint64_t ok = 0, gone = 0, error = 0;
    };
    std::vector<series> calls;  // known clients' calls of deprecated routes
    std::uint64_t flush_failures = 0;
    std::uint64_t dropped = 0;  // calls not kept while the store was unreachable (bound reached)
};

struct metrics_snapshot {
    worker_metrics requests;
    pool_metrics pool;
    process_figures process;
    process_stats proc;  // the standard process_* series (read from /proc at scrape time)
    std::string version;
    std::string simdjson_kernel;
    ledger_figures ledger;
};

}  // namespace shimgate
