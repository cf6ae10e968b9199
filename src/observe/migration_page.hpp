#pragma once
// /migration (contract §6.2): who still calls each deprecated route, read from the client ledger
// (stored rows plus the local deltas not yet written), as a page for a person and as JSON. Pure
// functions of their input.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "config/rule_set.hpp"
#include "ledger/client_names.hpp"
#include "ledger/ledger_data.hpp"

namespace shimgate {

enum class client_status {
    active,    // called the deprecated route in the last 7 days (today, UTC, and the six before)
    quiet,     // known, no call of the deprecated route for 7 days
    migrated,  // called the route's successor after its last call of the deprecated route
};
std::string_view to_string(client_status s) noexcept;
client_status status_of(const client_record& r, std::chrono::system_clock::time_point now) noexcept;

// Calls by outcome in the last `days` UTC days up to `now` (1 = today only).
outcome_counts calls_in_last(const client_record& r, int days,
                             std::chrono::system_clock::time_point now) noexcept;

struct migration_input {
    rule_set_ptr rules;  // the loaded rules: every rule with deprecation enabled is a route
    // Stored + not yet written; clients of rules no longer loaded too. Null: none.
    const ledger_data* ledger = nullptr;
    const client_names* names = nullptr;  // may be empty (or null)
    std::int64_t ledger_since = 0;        // unix seconds when the ledger began holding data
    std::string ledger_source;   // "sqlite:shimgate-ledger.sqlite3", "postgresql://host/db"
                                 // (no password), or "none (in memory)"
    std::string ledger_problem;  // "" or why the ledger cannot be read/written right now
    std::chrono::system_clock::time_point now;
};

// {"ledger_since":"RFC 3339","ledger":"...","routes":[{"rule":"...","sunset":"RFC 3339"|null,
//   "successor":"...","clients":[{"fingerprint":"...","name":"..."|null,"first_seen":"...",
//   "last_seen":"...","last_successor":"..."|null,"calls_1d":{"ok":N,"gone":N,"error":N},
//   "calls_7d":{...},"calls_30d":{...},"status":"active|quiet|migrated"}]}]}
// Clients to chase first: active, then quiet, then migrated; within, most calls in 7 days first.
std::string render_migration_json(const migration_input& in);
// A self-contained page (no scripts, no external resources): per route its schedule (deprecation,
// brownouts, sunset; past / running / to come) and the time left to the sunset, then its clients
// as above; the ledger's source and since when it holds data.
std::string render_migration_html(const migration_input& in);

}  // namespace shimgate
