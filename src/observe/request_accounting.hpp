#pragma once
// The end of one request: what it did (request_facts, filled in by the session as it goes) is
// counted in the worker's metrics and written as an access-log line into the worker's batch, which
// is handed to the writer thread once it is large enough. Touched only on the worker's thread.
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/rule_set.hpp"
#include "observe/access_log.hpp"
#include "observe/metrics.hpp"
#include "proxy/head.hpp"

namespace shimgate {

// Why a request that was answered did not end as answered (the access log's "error"); a request
// with one is never counted as a success.
enum class request_error : std::uint8_t {
    none,
    upstream_reset,  // the upstream failed mid-answer after its head went to the client (cut short)
};
// "upstream_reset"; "" for none.
std::string_view to_string(request_error e) noexcept;

struct request_facts {
    std::chrono::steady_clock::time_point start;  // head complete (unset: counted from now)
    rule_set_ptr rules;  // keeps `route` alive until the request is counted, across reloads
    const rule* route = nullptr;  // translated route, null for pass-through
    unsigned status = 0;          // answered with; 0 = nothing sent yet
    unsigned upstream_status = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0;
    std::chrono::nanoseconds upstream_time{0};
    std::string request_id;
    // The client's address: the peer, or behind a trusted proxy (--trusted-proxies) the
    // right-most untrusted address of its X-Forwarded-For chain (proxy/client_address.hpp);
    // empty: the peer's address is logged.
    std::string client_ip;
    boost::asio::ip::tcp::endpoint upstream;  // the upstream connection used; port 0: none
    request_error error = request_error::none;
    // The client ledger (contract §6.2): the accepted credential of a dialect route's call (a
    // view into the request head); whether the route's lifecycle answered it 410; the
    // credential's fingerprint, once worked out (the access log's "client").
    std::string_view credential;
    bool lifecycle_gone = false;
    bool has_client = false;
    std::uint64_t client = 0;
};

// The status a request is counted under in shimgate_requests_total: the one sent, except that a
// request cut short by the upstream counts as 502 (never as the 2xx its head said).
unsigned counted_status(const request_facts& facts) noexcept;

// "ip:port" ("[v6]:port") of `ep` into `buf`, as a view of it; "" for port 0 (no endpoint).
std::string_view format_endpoint(const boost::asio::ip::tcp::endpoint& ep,
                                 char (&buf)[64]) noexcept;

// Where a worker's access-log lines go: its batch and the process-wide writer (null: no log).
struct access_sink {
    access_log* log = nullptr;
    std::string& lines;
};

// Counts the request in `metrics` and logs it. `head` is the request's head if it was read whole
// (null: logged with "-" for method and path; its User-Agent, Host and traceparent are logged
// from it, views into the head, no copy); `peer` the connection's peer address.
void account_request(worker_metrics& metrics, access_sink sink, const request_facts& facts,
                     const request_head* head, std::string_view peer);

}  // namespace shimgate
