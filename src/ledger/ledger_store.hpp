#pragma once
// Where the client ledger is kept (--ledger URL, contract §6.2): one small interface, two real back
// ends. Called from the ledger's own thread only, never from a worker, so a store may block.
//
// Both back ends keep the same three tables, created if missing:
//   shimgate_ledger_meta    (key TEXT PRIMARY KEY, value TEXT NOT NULL)
//       rows "schema_version" = "1" and "since" = unix seconds when the ledger was created
//   shimgate_ledger_clients (rule, fingerprint TEXT 16 hex, first_seen, last_seen, last_successor
//                            BIGINT unix seconds, 0 = none; PRIMARY KEY (rule, fingerprint))
//   shimgate_ledger_days    (rule, fingerprint, day INTEGER days since 1970-01-01 UTC,
//                            ok, gone, error BIGINT; PRIMARY KEY (rule, fingerprint, day))
// A write adds (upserts: counts added, first_seen the earliest non-zero, last_* the latest), so
// several processes writing at once add up and nothing is counted twice.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/ledger_data.hpp"

namespace shimgate {

inline constexpr int ledger_schema_version = 1;

class ledger_store {
  public:
    virtual ~ledger_store() = default;
    // Adds `delta` to the stored ledger, all or nothing (one transaction). "" on success, else why
    // (one line); a store that lost its connection reconnects on its next call.
    virtual std::string write(const ledger_data& delta) = 0;
    // Replaces `out` with every stored client, each with its days from `from_day` on, and `since`
    // with when the ledger was created (unix seconds). "" on success, else why.
    virtual std::string read(utc_day from_day, ledger_data& out, std::int64_t& since) = 0;
};

struct store_opening {
    std::unique_ptr<ledger_store> store;  // null: could not be made, see `error`
    std::string error;                    // one line
};

// "sqlite:PATH": the file is opened (created with its tables if missing, WAL mode, a busy timeout
// so that several processes can share it) now; a failure is an error.
store_opening open_sqlite_store(const std::string& path);
// A libpq connection URI ("postgresql://user:pass@host:port/db?..."): checked now (a malformed URI
// is an error), connected on first use, so that a database that is down at start-up is an outage
// the ledger rides out, not a failed start.
store_opening open_postgres_store(const std::string& uri);

// --ledger: "none", "sqlite:PATH" or a libpq URI ("postgresql://..." / "postgres://...") → a store
// (null for "none"), or `error` (one line) for anything else or a store that cannot be opened.
store_opening open_ledger_store(const std::string& url);
// The URL as logs and pages may show it: the password of a postgresql:// URI replaced by "***";
// "none (in memory)" for none.
std::string ledger_source(const std::string& url);

}  // namespace shimgate
