#pragma once
// Migration insight: who still calls a deprecated route. A client is named by a short,
// non-reversible fingerprint of its credential (never the credential itself). Each worker owns a
// `migration_tracker` (no lock); a scrape merges copies and renders them as JSON or a small page.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace shimgate {

// 16 hex characters of SHA-256 over a fixed domain prefix and the token.
std::string credential_fingerprint(std::string_view token);

struct client_usage {
    std::uint64_t calls = 0;
    std::int64_t first_seen = 0;  // unix seconds
    std::int64_t last_seen = 0;
    std::map<std::string, std::uint64_t> calls_per_day;  // "2026-11-23" -> calls (UTC)
    void add(const client_usage& other);
};

struct migration_snapshot {
    // (route rule name, fingerprint) -> usage
    std::map<std::pair<std::string, std::string>, client_usage> clients;
    void add(const migration_snapshot& other);
};

class migration_tracker {
public:
    // One call of deprecated rule `rule` by the client holding `token`, at `now`.
    void record(std::string_view rule, std::string_view token, std::chrono::system_clock::time_point now);
    const migration_snapshot& snapshot() const noexcept { return data_; }

private:
    migration_snapshot data_;
};

// {"routes":[{"rule":"...","clients":[{"fingerprint":"...","calls":N,"first_seen":"RFC 3339",
//   "last_seen":"...","calls_per_day":{"2026-11-23":N}}]}]} — clients by calls, descending.
std::string render_migration_json(const migration_snapshot& s);
// A small self-contained HTML page (no scripts, no external resources) showing the same.
std::string render_migration_html(const migration_snapshot& s, std::chrono::system_clock::time_point now);

}  // namespace shimgate
