#include "observe/request_accounting.hpp"

namespace shimgate {

namespace {
constexpr std::size_t access_batch_bytes = 32 * 1024;
}

void account_request(worker_metrics& metrics, access_sink sink, const request_facts& facts,
                     const request_head* head, std::string_view peer) {
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    const auto now = std::chrono::steady_clock::now();
    const auto start = facts.start == std::chrono::steady_clock::time_point{} ? now : facts.start;
    static const std::string none;
    const std::string& rule_name = facts.route ? facts.route->name : none;
    const std::string& dialect = facts.route ? facts.route->dialect : none;
    metrics.count_request(rule_name, dialect, facts.status);
    metrics.total_latency.observe(now - start);
    if (facts.upstream_time.count() > 0) metrics.upstream_latency.observe(facts.upstream_time);
    if (!sink.log) return;
    access_record rec;
    rec.time = std::chrono::system_clock::now() -
               duration_cast<std::chrono::system_clock::duration>(now - start);
    rec.peer = peer;
    if (head) {
        rec.method = head->method_string();
        rec.path = head->target().substr(0, head->target().find('?'));
    } else {
        rec.method = "-";
        rec.path = "-";
    }
    rec.rule = rule_name;
    rec.dialect = dialect;
    rec.status = facts.status;
    rec.upstream_status = facts.upstream_status;
    rec.bytes_in = facts.bytes_in;
    rec.bytes_out = facts.bytes_out;
    rec.duration = duration_cast<microseconds>(now - start);
    rec.upstream_duration = duration_cast<microseconds>(facts.upstream_time);
    rec.request_id = facts.request_id;
    append_access_record(sink.lines, rec);
    if (sink.lines.size() >= access_batch_bytes) sink.log->submit(sink.lines);
}

}  // namespace shimgate
