#pragma once
// The client ledger's data (contract §6.2): per (deprecated rule, client) the first and last call
// of the route, the last call of its successor, and per UTC day the calls by outcome. One shape
// holds a worker's delta, what a flush writes, what a store reads back and what /migration shows;
// adding two adds the counts and widens the instants.
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace shimgate {

// How a call of a deprecated route ended, for a client the ledger knows.
enum class call_outcome : std::uint8_t {
    ok,     // the upstream answered 2xx
    gone,   // answered 410 by the route's lifecycle (brownout or sunset), never forwarded
    error,  // anything else
};
std::string_view to_string(call_outcome o) noexcept;

struct outcome_counts {
    std::uint64_t ok = 0, gone = 0, error = 0;
    void add(call_outcome o) noexcept;
    void add(const outcome_counts& other) noexcept;
    std::uint64_t total() const noexcept { return ok + gone + error; }
    friend bool operator==(const outcome_counts&, const outcome_counts&) = default;
};

// Days since 1970-01-01, UTC.
using utc_day = std::int32_t;
utc_day day_of(std::int64_t unix_seconds) noexcept;

struct client_record {
    // Unix seconds; 0 means "none" (in this delta, or ever): a merge keeps the earliest non-zero
    // first_seen and the latest last_seen / last_successor.
    std::int64_t first_seen = 0;      // first call of the deprecated route
    std::int64_t last_seen = 0;       // last call of the deprecated route
    std::int64_t last_successor = 0;  // last call of the route's successor path
    std::map<utc_day, outcome_counts> days;
    void add(const client_record& other);
    friend bool operator==(const client_record&, const client_record&) = default;
};

// A client of one deprecated rule: the rule's name and the 64-bit credential fingerprint (shown
// and stored as 16 lowercase hex characters).
struct client_id {
    std::string rule;
    std::uint64_t fingerprint = 0;
    friend auto operator<=>(const client_id&, const client_id&) = default;
};

struct ledger_data {
    std::map<client_id, client_record> clients;
    void add(const ledger_data& other);
    bool empty() const noexcept { return clients.empty(); }
    std::size_t day_rows() const noexcept;  // (client, day) pairs held
    friend bool operator==(const ledger_data&, const ledger_data&) = default;
};

// The first 64 bits of SHA-256("shimgate-credential-v1:" + token); never reversible to the token.
std::uint64_t fingerprint_of(std::string_view token);
std::string fingerprint_hex(std::uint64_t fingerprint);  // 16 lowercase hex characters
void format_fingerprint(std::uint64_t fingerprint, char (&out)[16]) noexcept;  // the same, no heap
// 16 hex characters (either case) → the fingerprint; anything else → nullopt.
std::optional<std::uint64_t> parse_fingerprint(std::string_view hex) noexcept;

}  // namespace shimgate
