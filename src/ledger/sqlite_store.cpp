// The SQLite back end of the client ledger (--ledger sqlite:PATH): one embedded database file,
// WAL mode with a busy timeout so that several shimgate processes on one host can share it.
#include <sqlite3.h>

#include <chrono>
#include <string>

#include "ledger/ledger_store.hpp"

namespace shimgate {

namespace {

constexpr const char* schema_sql =
    "CREATE TABLE IF NOT EXISTS shimgate_ledger_meta ("
    " key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS shimgate_ledger_clients ("
    " rule TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    " first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, last_successor BIGINT NOT NULL,"
    " PRIMARY KEY (rule, fingerprint));"
    "CREATE TABLE IF NOT EXISTS shimgate_ledger_days ("
    " rule TEXT NOT NULL, fingerprint TEXT NOT NULL, day INTEGER NOT NULL,"
    " ok BIGINT NOT NULL, gone BIGINT NOT NULL, error BIGINT NOT NULL,"
    " PRIMARY KEY (rule, fingerprint, day));";

constexpr const char* upsert_client_sql =
    "INSERT INTO shimgate_ledger_clients (rule, fingerprint, first_seen, last_seen, last_successor)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (rule, fingerprint) DO UPDATE SET"
    " first_seen = CASE WHEN excluded.first_seen = 0 THEN first_seen"
    "  WHEN first_seen = 0 THEN excluded.first_seen"
    "  ELSE min(first_seen, excluded.first_seen) END,"
    " last_seen = max(last_seen, excluded.last_seen),"
    " last_successor = max(last_successor, excluded.last_successor)";

constexpr const char* upsert_day_sql =
    "INSERT INTO shimgate_ledger_days (rule, fingerprint, day, ok, gone, error)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (rule, fingerprint, day) DO UPDATE SET"
    " ok = ok + excluded.ok, gone = gone + excluded.gone, error = error + excluded.error";

std::int64_t now_unix() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// A prepared statement, finalized however the scope ends.
class statement {
  public:
    statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
    ~statement() { sqlite3_finalize(s_); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    explicit operator bool() const noexcept { return s_ != nullptr; }
    sqlite3_stmt* get() const noexcept { return s_; }
    void text(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    void number(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
    // Runs it to completion and makes it ready for new bindings; SQLITE_DONE on success.
    int run() {
        const int rc = sqlite3_step(s_);
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
        return rc;
    }

  private:
    sqlite3_stmt* s_ = nullptr;
};

class sqlite_store final : public ledger_store {
  public:
    explicit sqlite_store(sqlite3* db) : db_(db) {}
    ~sqlite_store() override { sqlite3_close_v2(db_); }
    sqlite_store(const sqlite_store&) = delete;
    sqlite_store& operator=(const sqlite_store&) = delete;

    // The tables (if missing), the meta rows, and a check of the schema version.
    std::string prepare() {
        if (std::string e = exec("PRAGMA journal_mode=WAL"); !e.empty()) return e;
        if (std::string e = exec("BEGIN IMMEDIATE"); !e.empty()) return e;
        std::string e = exec(schema_sql);
        if (e.empty()) {
            statement meta(db_,
                           "INSERT INTO shimgate_ledger_meta (key, value) VALUES (?1, ?2)"
                           " ON CONFLICT (key) DO NOTHING");
            if (!meta) return why("preparing the meta rows");
            meta.text(1, "schema_version");
            meta.text(2, std::to_string(ledger_schema_version));
            if (meta.run() != SQLITE_DONE) e = why("writing the schema version");
            meta.text(1, "since");
            meta.text(2, std::to_string(now_unix()));
            if (e.empty() && meta.run() != SQLITE_DONE) e = why("writing the ledger's start");
        }
        if (e.empty()) e = check_version();
        if (!e.empty()) {
            exec("ROLLBACK");
            return e;
        }
        return exec("COMMIT");
    }

    std::string write(const ledger_data& delta) override {
        if (delta.empty()) return {};
        if (std::string e = exec("BEGIN IMMEDIATE"); !e.empty()) return e;
        std::string e = write_rows(delta);
        if (e.empty()) e = exec("COMMIT");
        if (!e.empty()) exec("ROLLBACK");
        return e;
    }

    std::string read(utc_day from_day, ledger_data& out, std::int64_t& since) override {
        out = {};
        if (std::string e = exec("BEGIN"); !e.empty()) return e;  // one consistent snapshot
        std::string e = read_rows(from_day, out, since);
        exec(e.empty() ? "COMMIT" : "ROLLBACK");
        if (!e.empty()) out = {};
        return e;
    }

  private:
    std::string write_rows(const ledger_data& delta) {
        statement client(db_, upsert_client_sql);
        statement day(db_, upsert_day_sql);
        if (!client || !day) return why("preparing the ledger's upserts");
        for (const auto& [id, r] : delta.clients) {
            const std::string fp = fingerprint_hex(id.fingerprint);
            client.text(1, id.rule);
            client.text(2, fp);
            client.number(3, r.first_seen);
            client.number(4, r.last_seen);
            client.number(5, r.last_successor);
            if (client.run() != SQLITE_DONE) return why("writing a client");
            for (const auto& [d, c] : r.days) {
                day.text(1, id.rule);
                day.text(2, fp);
                day.number(3, d);
                day.number(4, static_cast<std::int64_t>(c.ok));
                day.number(5, static_cast<std::int64_t>(c.gone));
                day.number(6, static_cast<std::int64_t>(c.error));
                if (day.run() != SQLITE_DONE) return why("writing a day's calls");
            }
        }
        return {};
    }

    std::string read_rows(utc_day from_day, ledger_data& out, std::int64_t& since) {
        statement meta(db_, "SELECT value FROM shimgate_ledger_meta WHERE key = 'since'");
        if (!meta) return why("reading the ledger's start");
        if (sqlite3_step(meta.get()) == SQLITE_ROW) since = sqlite3_column_int64(meta.get(), 0);
        statement clients(db_,
                          "SELECT rule, fingerprint, first_seen, last_seen, last_successor"
                          " FROM shimgate_ledger_clients");
        if (!clients) return why("reading the clients");
        int rc = 0;
        while ((rc = sqlite3_step(clients.get())) == SQLITE_ROW) {
            auto fp = parse_fingerprint(column_text(clients.get(), 1));
            if (!fp) continue;  // not ours: skipped
            client_record& r = out.clients[{std::string(column_text(clients.get(), 0)), *fp}];
            r.first_seen = sqlite3_column_int64(clients.get(), 2);
            r.last_seen = sqlite3_column_int64(clients.get(), 3);
            r.last_successor = sqlite3_column_int64(clients.get(), 4);
        }
        if (rc != SQLITE_DONE) return why("reading the clients");
        statement days(db_,
                       "SELECT rule, fingerprint, day, ok, gone, error FROM shimgate_ledger_days"
                       " WHERE day >= ?1");
        if (!days) return why("reading the days");
        days.number(1, from_day);
        while ((rc = sqlite3_step(days.get())) == SQLITE_ROW) {
            auto fp = parse_fingerprint(column_text(days.get(), 1));
            if (!fp) continue;
            auto it = out.clients.find({std::string(column_text(days.get(), 0)), *fp});
            if (it == out.clients.end()) continue;  // a day without its client: not shown
            outcome_counts& c =
                it->second.days[static_cast<utc_day>(sqlite3_column_int64(days.get(), 2))];
            c.ok = static_cast<std::uint64_t>(sqlite3_column_int64(days.get(), 3));
            c.gone = static_cast<std::uint64_t>(sqlite3_column_int64(days.get(), 4));
            c.error = static_cast<std::uint64_t>(sqlite3_column_int64(days.get(), 5));
        }
        if (rc != SQLITE_DONE) return why("reading the days");
        return {};
    }

    std::string check_version() {
        statement v(db_, "SELECT value FROM shimgate_ledger_meta WHERE key = 'schema_version'");
        if (!v || sqlite3_step(v.get()) != SQLITE_ROW) return why("reading the schema version");
        const std::string text(column_text(v.get(), 0));
        if (text != std::to_string(ledger_schema_version)) {
            return "the ledger's schema_version is " + text + "; this shimgate knows version " +
                   std::to_string(ledger_schema_version);
        }
        return {};
    }

    static std::string_view column_text(sqlite3_stmt* s, int i) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
                 : std::string_view();
    }

    std::string exec(const char* sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) == SQLITE_OK) return {};
        std::string e = message ? message : sqlite3_errmsg(db_);
        sqlite3_free(message);
        return e;
    }
    std::string why(const char* what) { return std::string(what) + ": " + sqlite3_errmsg(db_); }

    sqlite3* db_;
};

}  // namespace

store_opening open_sqlite_store(const std::string& path) {
    sqlite3* db = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string e = "cannot open the ledger file " + path + ": " +
                        (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return {nullptr, e};
    }
    sqlite3_busy_timeout(db, 5000);  // other processes sharing the file hold it briefly
    auto store = std::make_unique<sqlite_store>(db);
    if (std::string e = store->prepare(); !e.empty())
        return {nullptr, "cannot use the ledger file " + path + ": " + e};
    return {std::move(store), {}};
}

}  // namespace shimgate
