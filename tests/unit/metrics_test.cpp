// Request metrics and their Prometheus text: counting, merging, exact rendering, label escaping
// and cumulative histogram buckets.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "observe/metrics.hpp"
#include "observe/metrics_text.hpp"

namespace shimgate {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(prefix)) out.push_back(line);
    return out;
}

TEST(Metrics, RefusalReasonNames) {
    const char* expected[] = {
        "framing",        "head_too_large", "auth",         "content_type",
        "size",           "bad_json",       "type",         "upstream_timeout",
        "upstream_error", "gone",           "client_abort", "body_timeout",
        "overloaded"};
    static_assert(std::size(expected) == refusal_reason_count);
    for (std::size_t i = 0; i < refusal_reason_count; ++i)
        EXPECT_STREQ(to_string(static_cast<refusal_reason>(i)), expected[i]);
}

TEST(Metrics, HistogramBucketsAreInclusiveUpperBounds) {
    // 0.1 ms to 30 s.
    EXPECT_EQ(latency_histogram::bounds.front(), 0.0001);
    EXPECT_EQ(latency_histogram::bounds.back(), 30.0);
    latency_histogram h;
    h.observe(nanoseconds(0));                  // le 0.0001
    h.observe(std::chrono::microseconds(100));  // exactly 0.0001: still le 0.0001
    h.observe(std::chrono::microseconds(500));  // le 0.0005
    h.observe(milliseconds(1));                 // le 0.001
    h.observe(milliseconds(3));                 // le 0.005
    h.observe(seconds(5));                      // le 5
    h.observe(seconds(30));                     // le 30
    h.observe(seconds(31));                     // +Inf
    h.observe(nanoseconds(-5));                 // clock went back: counts as 0
    EXPECT_EQ(h.count, 9u);
    EXPECT_EQ(h.buckets[0], 3u);
    EXPECT_EQ(h.buckets[2], 1u);
    EXPECT_EQ(h.buckets[3], 1u);
    EXPECT_EQ(h.buckets[5], 1u);
    EXPECT_EQ(h.buckets[14], 1u);
    EXPECT_EQ(h.buckets[16], 1u);
    EXPECT_EQ(h.buckets[17], 1u);
    EXPECT_DOUBLE_EQ(h.sum, 0.0001 + 0.0005 + 0.001 + 0.003 + 5 + 30 + 31);
}

TEST(Metrics, DurationsByRuleMergeAndStayBounded) {
    worker_metrics a, b;
    a.observe_duration("explo", milliseconds(2));
    a.observe_duration("explo", milliseconds(3));
    a.observe_duration("", milliseconds(1));
    b.observe_duration("explo", seconds(1));
    b.observe_duration("mintlify", seconds(1));
    a.requests_in_flight = 2;
    b.requests_in_flight = 1;
    a.add(b);
    ASSERT_EQ(a.duration_by_rule.size(), 3u);
    EXPECT_EQ(a.duration_by_rule["explo"].count, 3u);
    EXPECT_EQ(a.duration_by_rule[""].count, 1u);
    EXPECT_EQ(a.duration_by_rule["mintlify"].count, 1u);
    EXPECT_EQ(a.requests_in_flight, 3);
    // Many requests of known rules add no entry.
    for (int i = 0; i < 1000; ++i) a.observe_duration(i % 2 ? "explo" : "", milliseconds(1));
    EXPECT_EQ(a.duration_by_rule.size(), 3u);
}

TEST(Metrics, CountAndMerge) {
    worker_metrics a, b;
    a.count_request("explo_update", "explo", 200);
    a.count_request("explo_update", "explo", 200);
    a.count_request("", "", 404);
    b.count_request("explo_update", "explo", 200);
    b.count_request("explo_update", "explo", 502);
    b.count_refusal(refusal_reason::upstream_error);
    a.count_refusal(refusal_reason::upstream_error);
    a.upstream_latency.observe(milliseconds(2));
    b.upstream_latency.observe(milliseconds(200));
    a.add(b);
    EXPECT_EQ((a.requests[request_key{"explo_update", "explo", 200}]), 3u);
    EXPECT_EQ((a.requests[request_key{"explo_update", "explo", 502}]), 1u);
    EXPECT_EQ((a.requests[request_key{"", "", 404}]), 1u);
    EXPECT_EQ(a.requests.size(), 3u);
    EXPECT_EQ(a.refusals[static_cast<std::size_t>(refusal_reason::upstream_error)], 2u);
    EXPECT_EQ(a.upstream_latency.count, 2u);

    pool_metrics p{1, 2, 3, 4, 5, 6, 7}, q{10, 20, 30, 40, 50, 60, 70};
    p.add(q);
    EXPECT_EQ(p.idle, 11u);
    EXPECT_EQ(p.tls_resumed, 66u);
    EXPECT_EQ(p.retries, 77u);
}

metrics_snapshot small_snapshot() {
    metrics_snapshot s;
    s.requests.count_request("explo_update", "explo", 200);
    s.requests.count_request("explo_update", "explo", 200);
    s.requests.count_request("", "", 404);
    s.requests.count_refusal(refusal_reason::bad_json);
    s.requests.upstream_latency.observe(milliseconds(250));
    s.requests.upstream_latency.observe(milliseconds(500));
    s.requests.observe_duration("explo_update", seconds(7));
    s.requests.observe_duration("", nanoseconds(0));
    s.requests.requests_in_flight = 5;
    s.requests.upstream_resets = 3;
    s.pool = {2, 5, 1, 9, 1, 0, 3};
    s.process.open_connections = 4;
    s.process.rule_reloads_applied = 1;
    s.process.rule_reloads_refused = 2;
    s.process.last_reload_success_seconds = 1764970000.25;
    s.process.rules_loaded = 3;
    s.process.ready = true;
    s.ledger.calls.push_back({"explo_update", "Acme \"billing\"", 3, 1, 2});
    s.ledger.flush_failures = 2;
    s.version = "0.1.0";
    s.simdjson_kernel = "haswell";
    s.proc = {true, 1764960000.5, 12.75, 4096 * 1000, 12, 1024};
    return s;
}

TEST(Metrics, RendersExactText) {
    const std::string expected =
        R"(# HELP shimgate_requests_total Finished requests by route rule (pass-through for unmatched), dialect and status sent.
# TYPE shimgate_requests_total counter
shimgate_requests_total{rule="pass-through",dialect="",status="404"} 1
shimgate_requests_total{rule="explo_update",dialect="explo",status="200"} 2
# HELP shimgate_refusals_total Requests the shim refused or failed itself, by reason.
# TYPE shimgate_refusals_total counter
shimgate_refusals_total{reason="framing"} 0
shimgate_refusals_total{reason="head_too_large"} 0
shimgate_refusals_total{reason="auth"} 0
shimgate_refusals_total{reason="content_type"} 0
shimgate_refusals_total{reason="size"} 0
shimgate_refusals_total{reason="bad_json"} 1
shimgate_refusals_total{reason="type"} 0
shimgate_refusals_total{reason="upstream_timeout"} 0
shimgate_refusals_total{reason="upstream_error"} 0
shimgate_refusals_total{reason="gone"} 0
shimgate_refusals_total{reason="client_abort"} 0
shimgate_refusals_total{reason="body_timeout"} 0
shimgate_refusals_total{reason="overloaded"} 0
# HELP shimgate_upstream_latency_seconds Upstream exchange: first byte sent upstream to the whole answer read or relayed.
# TYPE shimgate_upstream_latency_seconds histogram
shimgate_upstream_latency_seconds_bucket{le="0.0001"} 0
shimgate_upstream_latency_seconds_bucket{le="0.00025"} 0
shimgate_upstream_latency_seconds_bucket{le="0.0005"} 0
shimgate_upstream_latency_seconds_bucket{le="0.001"} 0
shimgate_upstream_latency_seconds_bucket{le="0.0025"} 0
shimgate_upstream_latency_seconds_bucket{le="0.005"} 0
shimgate_upstream_latency_seconds_bucket{le="0.01"} 0
shimgate_upstream_latency_seconds_bucket{le="0.025"} 0
shimgate_upstream_latency_seconds_bucket{le="0.05"} 0
shimgate_upstream_latency_seconds_bucket{le="0.1"} 0
shimgate_upstream_latency_seconds_bucket{le="0.25"} 1
shimgate_upstream_latency_seconds_bucket{le="0.5"} 2
shimgate_upstream_latency_seconds_bucket{le="1"} 2
shimgate_upstream_latency_seconds_bucket{le="2.5"} 2
shimgate_upstream_latency_seconds_bucket{le="5"} 2
shimgate_upstream_latency_seconds_bucket{le="10"} 2
shimgate_upstream_latency_seconds_bucket{le="30"} 2
shimgate_upstream_latency_seconds_bucket{le="+Inf"} 2
shimgate_upstream_latency_seconds_sum 0.75
shimgate_upstream_latency_seconds_count 2
# HELP shimgate_request_duration_seconds Whole request by route rule (pass-through for unmatched): head complete to answer written.
# TYPE shimgate_request_duration_seconds histogram
shimgate_request_duration_seconds_bucket{rule="pass-through",le="0.0001"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="0.00025"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="0.0005"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="0.001"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="0.0025"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="0.005"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="0.01"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="0.025"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="0.05"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="0.1"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="0.25"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="0.5"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="1"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="2.5"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="5"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="10"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="30"} 1
shimgate_request_duration_seconds_bucket{rule="pass-through",le="+Inf"} 1
shimgate_request_duration_seconds_sum{rule="pass-through"} 0
shimgate_request_duration_seconds_count{rule="pass-through"} 1
shimgate_request_duration_seconds_bucket{rule="explo_update",le="0.0001"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="0.00025"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="0.0005"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="0.001"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="0.0025"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="0.005"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="0.01"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="0.025"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="0.05"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="0.1"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="0.25"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="0.5"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="1"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="2.5"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="5"} 0
shimgate_request_duration_seconds_bucket{rule="explo_update",le="10"} 1
shimgate_request_duration_seconds_bucket{rule="explo_update",le="30"} 1
shimgate_request_duration_seconds_bucket{rule="explo_update",le="+Inf"} 1
shimgate_request_duration_seconds_sum{rule="explo_update"} 7
shimgate_request_duration_seconds_count{rule="explo_update"} 1
# HELP shimgate_requests_in_flight Requests whose head was read and whose answer is not yet finished.
# TYPE shimgate_requests_in_flight gauge
shimgate_requests_in_flight 5
# HELP shimgate_upstream_resets_total Answers the upstream cut short after their head went to the client (each also counted in requests_total as status 502).
# TYPE shimgate_upstream_resets_total counter
shimgate_upstream_resets_total 3
# HELP shimgate_upstream_pool_idle_connections Idle keep-alive upstream connections in the pools.
# TYPE shimgate_upstream_pool_idle_connections gauge
shimgate_upstream_pool_idle_connections 2
# HELP shimgate_upstream_connects_total New upstream connections established.
# TYPE shimgate_upstream_connects_total counter
shimgate_upstream_connects_total 5
# HELP shimgate_upstream_connect_failures_total Upstream connection attempts that failed (refused, timed out, TLS handshake).
# TYPE shimgate_upstream_connect_failures_total counter
shimgate_upstream_connect_failures_total 1
# HELP shimgate_upstream_reuses_total Requests sent over a pooled keep-alive upstream connection.
# TYPE shimgate_upstream_reuses_total counter
shimgate_upstream_reuses_total 9
# HELP shimgate_upstream_stale_dropped_total Pooled upstream connections found closed or expired and dropped before use.
# TYPE shimgate_upstream_stale_dropped_total counter
shimgate_upstream_stale_dropped_total 1
# HELP shimgate_upstream_tls_resumptions_total Upstream TLS handshakes that resumed a previous session.
# TYPE shimgate_upstream_tls_resumptions_total counter
shimgate_upstream_tls_resumptions_total 0
# HELP shimgate_upstream_retries_total Requests sent once more on a new upstream connection after a reused one failed before any byte of the answer.
# TYPE shimgate_upstream_retries_total counter
shimgate_upstream_retries_total 3
# HELP shimgate_open_connections Open client connections.
# TYPE shimgate_open_connections gauge
shimgate_open_connections 4
# HELP shimgate_rule_reloads_total Rule reloads (SIGHUP) by result: applied, or refused because the new set was invalid.
# TYPE shimgate_rule_reloads_total counter
shimgate_rule_reloads_total{result="applied"} 1
shimgate_rule_reloads_total{result="refused"} 2
# HELP shimgate_rule_reload_failures_total Rule reloads refused (the same as rule_reloads_total{result="refused"}).
# TYPE shimgate_rule_reload_failures_total counter
shimgate_rule_reload_failures_total 2
# HELP shimgate_last_reload_success_timestamp_seconds When the rules now serving were loaded (start-up or SIGHUP), seconds since the epoch.
# TYPE shimgate_last_reload_success_timestamp_seconds gauge
shimgate_last_reload_success_timestamp_seconds 1764970000.25
# HELP shimgate_rules_loaded Rules in the rule set now serving.
# TYPE shimgate_rules_loaded gauge
shimgate_rules_loaded 3
# HELP shimgate_ready 1 when rules are loaded and the server is not draining.
# TYPE shimgate_ready gauge
shimgate_ready 1
# HELP shimgate_deprecated_calls_total Calls of deprecated routes by clients the ledger knows, by outcome (ok: upstream 2xx, gone: 410 brownout or sunset, error: anything else); at most 1000 clients per rule, the rest as client="other".
# TYPE shimgate_deprecated_calls_total counter
shimgate_deprecated_calls_total{rule="explo_update",client="Acme \"billing\"",outcome="ok"} 3
shimgate_deprecated_calls_total{rule="explo_update",client="Acme \"billing\"",outcome="gone"} 1
shimgate_deprecated_calls_total{rule="explo_update",client="Acme \"billing\"",outcome="error"} 2
# HELP shimgate_ledger_flush_failures_total Writes or reads of the client ledger's store that failed (the calls are kept and written when it is back).
# TYPE shimgate_ledger_flush_failures_total counter
shimgate_ledger_flush_failures_total 2
# HELP shimgate_ledger_dropped_calls_total Calls of known clients not kept because the unwritten deltas reached their bound while the ledger's store was unreachable.
# TYPE shimgate_ledger_dropped_calls_total counter
shimgate_ledger_dropped_calls_total 0
# HELP shimgate_build_info Build information; the value is always 1.
# TYPE shimgate_build_info gauge
shimgate_build_info{version="0.1.0",simdjson_kernel="haswell"} 1
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1764960000.5
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.75
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 4096000
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 12
# HELP process_max_fds Maximum number of open file descriptors.
# TYPE process_max_fds gauge
process_max_fds 1024
)";
    const auto s = small_snapshot();
    EXPECT_EQ(render_prometheus(s), expected);
    EXPECT_EQ(render_prometheus(s), render_prometheus(s));  // deterministic
}

TEST(Metrics, EmptySnapshotStillListsEveryFamilyAndReason) {
    const std::string text = render_prometheus(metrics_snapshot{});
    EXPECT_EQ(lines_starting(text, "# TYPE ").size(), 23u);
    EXPECT_EQ(lines_starting(text, "process_").size(), 0u);  // /proc unread: left out
    EXPECT_EQ(lines_starting(text, "shimgate_request_duration_seconds").size(), 0u);
    EXPECT_NE(text.find("shimgate_requests_in_flight 0\n"), std::string::npos);
    EXPECT_EQ(lines_starting(text, "shimgate_requests_total").size(), 0u);
    EXPECT_EQ(lines_starting(text, "shimgate_refusals_total{").size(), refusal_reason_count);
    EXPECT_NE(text.find("shimgate_ready 0\n"), std::string::npos);
    EXPECT_NE(text.find("shimgate_build_info{version=\"\",simdjson_kernel=\"\"} 1\n"),
              std::string::npos);
    EXPECT_EQ(text.back(), '\n');
}

TEST(Metrics, EscapesLabelValues) {
    std::string out;
    append_prometheus_label_value(out, "a\"b\\c\nd\te");
    EXPECT_EQ(out, "a\\\"b\\\\c\\nd\te");

    metrics_snapshot s;
    s.requests.count_request("we\"ird\\rule\n", "dia\"lect", 200);
    s.version = "1.0\"\n";
    const std::string text = render_prometheus(s);
    EXPECT_NE(text.find("shimgate_requests_total{rule=\"we\\\"ird\\\\rule\\n\",dialect="
                        "\"dia\\\"lect\",status=\"200\"} 1\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("shimgate_build_info{version=\"1.0\\\"\\n\",simdjson_kernel=\"\"} 1\n"),
              std::string::npos);
}

TEST(Metrics, HistogramBucketsRenderCumulatively) {
    metrics_snapshot s;
    const long ms[] = {0, 1, 1, 2, 4, 9, 20, 40, 90, 200, 400, 900, 4000, 9000, 9000, 40000};
    for (long v : ms) s.requests.observe_duration("r", milliseconds(v));
    const auto buckets =
        lines_starting(render_prometheus(s), "shimgate_request_duration_seconds_bucket");
    ASSERT_EQ(buckets.size(), latency_histogram::bounds.size() + 1);
    std::uint64_t previous = 0;
    for (const auto& line : buckets) {
        const std::uint64_t v = std::stoull(line.substr(line.rfind(' ') + 1));
        EXPECT_GE(v, previous) << line;
        previous = v;
    }
    EXPECT_EQ(buckets.front(),
              "shimgate_request_duration_seconds_bucket{rule=\"r\",le=\"0.0001\"} 1");
    EXPECT_EQ(buckets[3], "shimgate_request_duration_seconds_bucket{rule=\"r\",le=\"0.001\"} 3");
    EXPECT_EQ(buckets[14], "shimgate_request_duration_seconds_bucket{rule=\"r\",le=\"5\"} 13");
    EXPECT_EQ(buckets[16], "shimgate_request_duration_seconds_bucket{rule=\"r\",le=\"30\"} 15");
    EXPECT_EQ(buckets.back(),
              "shimgate_request_duration_seconds_bucket{rule=\"r\",le=\"+Inf\"} 16");
    EXPECT_EQ(previous, s.requests.duration_by_rule["r"].count);
}

}  // namespace
}  // namespace shimgate

namespace shimgate {
namespace {

// finish_request counts like count_request + observe_duration, whether the last request was the
// same kind or not, and a copy never writes into the original.
TEST(Metrics, FinishRequestCountsLikeItsTwoParts) {
    using std::chrono::milliseconds;
    worker_metrics a, b;
    const std::tuple<const char*, const char*, unsigned> kinds[] = {{"", "", 200},
                                                                    {"", "", 200},
                                                                    {"explo", "explo", 200},
                                                                    {"", "", 404},
                                                                    {"explo", "explo", 200}};
    for (const auto& [rule, dialect, status] : kinds) {
        a.finish_request(rule, dialect, status, milliseconds(3));
        b.count_request(rule, dialect, status);
        b.observe_duration(rule, milliseconds(3));
    }
    ASSERT_EQ(a.requests.size(), b.requests.size());
    for (const auto& [key, n] : b.requests) EXPECT_EQ(a.requests.at(key), n) << key.rule;
    ASSERT_EQ(a.duration_by_rule.size(), 2u);
    EXPECT_EQ(a.duration_by_rule.at("").count, 3u);
    EXPECT_EQ(a.duration_by_rule.at("explo").count, 2u);
    worker_metrics copy = a;
    copy.finish_request("explo", "explo", 200, milliseconds(3));  // the last kind of `a`
    EXPECT_EQ((a.requests.at(request_key{"explo", "explo", 200})), 2u);
    EXPECT_EQ((copy.requests.at(request_key{"explo", "explo", 200})), 3u);
    EXPECT_EQ(a.duration_by_rule.at("explo").count, 2u);
}

}  // namespace
}  // namespace shimgate
