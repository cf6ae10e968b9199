#include "observe/metrics.hpp"

#include <algorithm>

namespace shimgate {

const char* to_string(refusal_reason r) noexcept {
    switch (r) {
        case refusal_reason::framing:
            return "framing";
        case refusal_reason::head_too_large:
            return "head_too_large";
        case refusal_reason::auth:
            return "auth";
        case refusal_reason::content_type:
            return "content_type";
        case refusal_reason::size:
            return "size";
        case refusal_reason::bad_json:
            return "bad_json";
        case refusal_reason::type:
            return "type";
        case refusal_reason::upstream_timeout:
            return "upstream_timeout";
        case refusal_reason::upstream_error:
            return "upstream_error";
        case refusal_reason::gone:
            return "gone";
        case refusal_reason::client_abort:
            return "client_abort";
        case refusal_reason::body_timeout:
            return "body_timeout";
        case refusal_reason::overloaded:
            return "overloaded";
        case refusal_reason::count_:
            break;
    }
    return "unknown";
}

void latency_histogram::observe(std::chrono::nanoseconds d) noexcept {
    // A clock that went backwards counts as zero rather than as a negative sum.
    double seconds = std::max<double>(0.0, static_cast<double>(d.count()) / 1e9);
    // Prometheus buckets are inclusive upper bounds (value <= le): the first bound not below it.
    auto it = std::lower_bound(bounds.begin(), bounds.end(), seconds);
    ++buckets[static_cast<std::size_t>(it - bounds.begin())];
    ++count;
    sum += seconds;
}

void latency_histogram::add(const latency_histogram& other) noexcept {
    for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
    count += other.count;
    sum += other.sum;
}

std::uint64_t& worker_metrics::count_request(std::string_view rule, std::string_view dialect,
                                             unsigned status) {
    request_key_view key{rule, dialect, status};
    if (auto it = requests.find(key); it != requests.end()) return ++it->second;
    return requests.emplace(request_key{std::string(rule), std::string(dialect), status}, 1)
        .first->second;
}

latency_histogram& worker_metrics::observe_duration(std::string_view rule,
                                                    std::chrono::nanoseconds d) {
    auto it = duration_by_rule.find(rule);
    if (it == duration_by_rule.end())
        it = duration_by_rule.emplace(std::string(rule), latency_histogram{}).first;
    it->second.observe(d);
    return it->second;
}

void worker_metrics::finish_request(std::string_view rule, std::string_view dialect,
                                    unsigned status, std::chrono::nanoseconds d) {
    if (last_.count && last_.status == status && last_.rule == rule && last_.dialect == dialect) {
        ++*last_.count;
        last_.duration->observe(d);
        return;
    }
    last_.count = &count_request(rule, dialect, status);
    last_.duration = &observe_duration(rule, d);
    last_.rule.assign(rule);
    last_.dialect.assign(dialect);
    last_.status = status;
}

void worker_metrics::add(const worker_metrics& other) {
    for (const auto& [key, n] : other.requests) requests[key] += n;
    for (std::size_t i = 0; i < refusals.size(); ++i) refusals[i] += other.refusals[i];
    upstream_latency.add(other.upstream_latency);
    for (const auto& [rule, h] : other.duration_by_rule) duration_by_rule[rule].add(h);
    requests_in_flight += other.requests_in_flight;
    upstream_resets += other.upstream_resets;
}

}  // namespace shimgate
