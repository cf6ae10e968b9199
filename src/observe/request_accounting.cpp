// Counting and logging a finished request. The log line's strings are views (into the head, the
// facts, a stack buffer for the upstream address), written at once into the worker's batch.
#include "observe/request_accounting.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include "ledger/ledger_data.hpp"
#include "observe/trace_context.hpp"

namespace shimgate {

namespace {
constexpr std::size_t access_batch_bytes = 32 * 1024;
namespace http = boost::beast::http;
}  // namespace

std::string_view to_string(request_error e) noexcept {
    switch (e) {
        case request_error::none:
            return {};
        case request_error::upstream_reset:
            return "upstream_reset";
    }
    return {};
}

unsigned counted_status(const request_facts& facts) noexcept {
    return facts.error == request_error::upstream_reset ? 502u : facts.status;
}

std::string_view format_endpoint(const boost::asio::ip::tcp::endpoint& ep,
                                 char (&buf)[64]) noexcept {
    if (ep.port() == 0) return {};
    char* p = buf;
    char* const end = buf + sizeof buf;
    const auto* sa = ep.data();
    if (sa->sa_family == AF_INET6) {
        *p++ = '[';
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        if (!::inet_ntop(AF_INET6, &in6->sin6_addr, p, INET6_ADDRSTRLEN)) return {};
        p += std::strlen(p);
        *p++ = ']';
    } else {
        const auto* in4 = reinterpret_cast<const sockaddr_in*>(sa);
        if (!::inet_ntop(AF_INET, &in4->sin_addr, p, INET_ADDRSTRLEN)) return {};
        p += std::strlen(p);
    }
    *p++ = ':';
    p = std::to_chars(p, end, ep.port()).ptr;
    return {buf, static_cast<std::size_t>(p - buf)};
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
    metrics.finish_request(rule_name, dialect, counted_status(facts), now - start);
    if (facts.upstream_time.count() > 0) metrics.upstream_latency.observe(facts.upstream_time);
    if (facts.error == request_error::upstream_reset) ++metrics.upstream_resets;
    if (!sink.log) return;
    access_record rec;
    rec.time = std::chrono::system_clock::now() -
               duration_cast<std::chrono::system_clock::duration>(now - start);
    rec.peer = peer;
    rec.client_ip = facts.client_ip;
    if (head) {
        rec.method = head->method_string();
        rec.path = head->target().substr(0, head->target().find('?'));
        rec.host = (*head)[http::field::host];
        rec.user_agent = (*head)[http::field::user_agent];
        // Two traceparent fields are invalid (Trace Context §3.2): no trace id then.
        if (head->count("traceparent") == 1) rec.trace_id = trace_id_of((*head)["traceparent"]);
    } else {
        rec.method = "-";
        rec.path = "-";
    }
    rec.rule = rule_name;
    rec.dialect = dialect;
    char client[16];
    if (facts.has_client) {
        format_fingerprint(facts.client, client);
        rec.client = std::string_view(client, sizeof client);
    }
    rec.status = facts.status;
    rec.upstream_status = facts.upstream_status;
    char upstream_addr[64];
    rec.upstream_addr = format_endpoint(facts.upstream, upstream_addr);
    rec.bytes_in = facts.bytes_in;
    rec.bytes_out = facts.bytes_out;
    rec.duration = duration_cast<microseconds>(now - start);
    rec.upstream_duration = duration_cast<microseconds>(facts.upstream_time);
    rec.request_id = facts.request_id;
    rec.error = to_string(facts.error);
    append_access_record(sink.lines, rec);
    if (sink.lines.size() >= access_batch_bytes) sink.log->submit(sink.lines);
}

}  // namespace shimgate
