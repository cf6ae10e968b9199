#pragma once
// Migration insight: who still calls a deprecated route. A client is named by a short,
// non-reversible fingerprint of its credential (never the credential itself). Each worker owns a
// `migration_tracker` (no lock); a scrape merges copies and renders them as JSON or a small page.
#include <chrono>
#include <cstddef>
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
    // Memory stays bounded whatever clients send: at most `max_clients` (rule, fingerprint) pairs
    // per tracker (later new clients are counted together under the fingerprint "other"), and
    // each client keeps its `max_days` most recent days in calls_per_day.
    static constexpr std::size_t max_clients = 10000;
    static constexpr std::size_t max_days = 62;

    // One call of deprecated rule `rule` by the client holding `token`, at `now`.
    void record(std::string_view rule, std::string_view token,
                std::chrono::system_clock::time_point now);
    const migration_snapshot& snapshot() const noexcept { return data_; }

  private:
    // The last caller, so that the same client calling again (the usual case) costs two string
    // comparisons instead of a SHA-256 and two map look-ups. The token stays in this process's
    // memory only; nothing shown or written ever holds it.
    struct recent_client {
        std::string rule, token;
        client_usage* usage = nullptr;
        std::int64_t day_begin = 0, day_end = 0;  // the UTC day of `day_calls`, unix seconds
        std::uint64_t* day_calls = nullptr;
    };
    migration_snapshot data_;
    recent_client recent_;
};

// {"routes":[{"rule":"...","clients":[{"fingerprint":"...","calls":N,"first_seen":"RFC 3339",
//   "last_seen":"...","calls_per_day":{"2026-11-23":N}}]}]} — clients by calls, descending.
std::string render_migration_json(const migration_snapshot& s);
// A small self-contained HTML page (no scripts, no external resources) showing the same: one
// table per deprecated route, clients by calls, with the last `html_days` UTC days up to `now`
// as columns (older calls summed in an "earlier" column).
constexpr int html_days = 14;
std::string render_migration_html(const migration_snapshot& s,
                                  std::chrono::system_clock::time_point now);

}  // namespace shimgate
