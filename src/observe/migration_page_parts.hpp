#pragma once
// What render_migration_json and render_migration_html share (observe/migration_page.cpp and
// observe/migration_page_html.cpp): the routes to show with their clients, sorted to chase first,
// and the text forms of instants and of the time left to a sunset. Internal to those two files.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "observe/migration_page.hpp"

namespace shimgate::migration_page_detail {

struct client_view {
    std::uint64_t fingerprint = 0;
    const client_record* record = nullptr;
    const std::string* name = nullptr;  // from --clients; nullptr if it has none
    client_status status = client_status::active;
    outcome_counts calls_1d, calls_7d, calls_30d;
};

struct route_view {
    const std::string* rule_name = nullptr;
    // The loaded rule when it is deprecated (its schedule is shown); nullptr for a rule name only
    // the ledger knows: no longer loaded, or loaded but no longer deprecated (see `loaded`).
    const rule* deprecated = nullptr;
    bool loaded = false;
    std::vector<client_view> clients;  // active, quiet, migrated; most calls in 7 days first
};

// Every deprecated rule of in.rules in rule order, then every other rule name in the ledger (in
// name order), each with its clients.
std::vector<route_view> build_routes(const migration_input& in);

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) noexcept;
std::string utc_rfc3339(std::int64_t unix_seconds);  // "2026-11-23T10:15:07Z"

// "203 days 4 hours left", "5 hours 12 minutes left", "sunset passed 3 days ago",
// "no sunset set" (d == nullptr: "no schedule").
std::string sunset_countdown(const deprecation_rule* d, std::chrono::system_clock::time_point now);

}  // namespace shimgate::migration_page_detail
