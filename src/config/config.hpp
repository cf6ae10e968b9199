#pragma once
// The validated command line: everything the server needs to start, as plain values.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "proxy/client_address.hpp"

namespace shimgate {

using seconds_d = std::chrono::duration<double>;

struct host_port {
    std::string host;  // "127.0.0.1", "::1", "localhost"
    std::uint16_t port = 0;
};

struct upstream_url {
    bool tls = false;
    std::string host;
    std::uint16_t port = 0;
    std::string prefix;       // path prefix without trailing slash, "" if none
    std::string host_header;  // "host:port" as sent in Host
};

struct config {
    host_port listen;
    upstream_url upstream;
    std::string rules_dir;
    std::string tls_cert, tls_key, upstream_ca;
    std::string admin;  // "" = no admin listener
    unsigned threads = 1;
    std::string log_format = "text";
    std::string access_log;      // "" = none, "-" = stdout
    bool server_timing = false;  // a Server-Timing field on every answer

    std::chrono::milliseconds upstream_timeout{30000};
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds header_timeout{10000};
    std::chrono::milliseconds idle_timeout{60000};
    std::chrono::milliseconds drain_timeout{30000};
    // SIGTERM: /readyz says 503 at once, but connections are still accepted and served this long
    // before the drain begins (so a load balancer sees the change and stops sending first).
    std::chrono::milliseconds drain_delay{0};

    trusted_proxies trusted;               // --trusted-proxies: peers whose X-Forwarded-* count
    bool ready_requires_upstream = false;  // /readyz also connects to the upstream
    std::chrono::milliseconds upstream_idle_timeout{4000};  // an idle pooled connection's life
    std::chrono::milliseconds dns_refresh{30000};           // the --upstream name resolved again
    std::chrono::milliseconds eject_time{10000};    // an address whose connect failed is skipped
    std::chrono::milliseconds body_timeout{60000};  // a whole request body, from its head

    std::uint64_t max_body = 1048576;
    std::size_t max_header_bytes = 16384;
    std::size_t max_header_fields = 100;
    std::size_t max_request_line = 8192;
    std::size_t max_connections = 10000;
    // Translated bodies held in memory at once, requests and answers, process-wide (503 past it).
    std::uint64_t max_buffered_bytes = 268435456;

    // The client ledger (contract §6.2): where it is kept, how often deltas are written, names.
    std::string ledger = "sqlite:shimgate-ledger.sqlite3";
    std::chrono::milliseconds ledger_flush{5000};
    std::string clients_file;  // "" = no names
};

}  // namespace shimgate
