// The PostgreSQL back end of the client ledger (ledger_store.hpp): one libpq connection, made on
// first use and made again after it breaks; the tables created (under an advisory lock) on each
// connect; a write is one transaction of two batched upserts (one round trip per table).
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/ledger_store.hpp"

namespace shimgate {
namespace {

// pg_advisory_xact_lock key serialising schema creation between processes ("shimledg").
constexpr const char* schema_lock_key = "7522525009045153127";

constexpr const char* create_schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS shimgate_ledger_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shimgate_ledger_clients (
    rule TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    first_seen BIGINT NOT NULL DEFAULT 0,
    last_seen BIGINT NOT NULL DEFAULT 0,
    last_successor BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (rule, fingerprint));
CREATE TABLE IF NOT EXISTS shimgate_ledger_days (
    rule TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    day INTEGER NOT NULL,
    ok BIGINT NOT NULL DEFAULT 0,
    gone BIGINT NOT NULL DEFAULT 0,
    error BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (rule, fingerprint, day));
)sql";

// first_seen: the earliest non-zero of the two (0 = none).
constexpr const char* upsert_clients_sql = R"sql(
INSERT INTO shimgate_ledger_clients AS c (rule, fingerprint, first_seen, last_seen, last_successor)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
ON CONFLICT (rule, fingerprint) DO UPDATE SET
    first_seen = CASE WHEN c.first_seen = 0 THEN EXCLUDED.first_seen
                      WHEN EXCLUDED.first_seen = 0 THEN c.first_seen
                      ELSE LEAST(c.first_seen, EXCLUDED.first_seen) END,
    last_seen = GREATEST(c.last_seen, EXCLUDED.last_seen),
    last_successor = GREATEST(c.last_successor, EXCLUDED.last_successor)
)sql";

constexpr const char* upsert_days_sql = R"sql(
INSERT INTO shimgate_ledger_days AS d (rule, fingerprint, day, ok, gone, error)
SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::bigint[], $5::bigint[],
                     $6::bigint[])
ON CONFLICT (rule, fingerprint, day) DO UPDATE SET
    ok = d.ok + EXCLUDED.ok,
    gone = d.gone + EXCLUDED.gone,
    error = d.error + EXCLUDED.error
)sql";

using result_ptr = std::unique_ptr<PGresult, decltype(&PQclear)>;

// libpq's messages span lines ("connection to server ... failed: FATAL: ...\n"): one line.
std::string one_line(std::string_view text) {
    std::string out;
    bool space = false;
    for (char c : text) {
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            space = true;
            continue;
        }
        if (space && !out.empty()) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

std::string percent_decoded(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned v = 0;
        if (s[i] == '%' && i + 2 < s.size() &&
            std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr == s.data() + i + 3) {
            out += static_cast<char>(v);
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// Every spelling of a password the connection string may hold: the URI's user info (up to the
// first and up to the last '@', as libpq and a reader may see it) and any password= parameter,
// raw and percent-decoded. libpq echoes parts of a malformed URI (or all of it) in its messages.
std::vector<std::string> secrets_of(std::string_view conninfo) {
    std::vector<std::string> out;
    auto add = [&](std::string_view s) {
        if (s.empty()) return;
        out.emplace_back(s);
        out.push_back(percent_decoded(s));
    };
    if (auto scheme = conninfo.find("://"); scheme != std::string_view::npos) {
        std::size_t start = scheme + 3;
        std::size_t query = std::min(conninfo.find('?', start), conninfo.size());
        std::size_t first_end = std::min(conninfo.find_first_of("@/", start), conninfo.size());
        for (std::size_t at : {first_end, conninfo.rfind('@', query)}) {
            if (at == std::string_view::npos || at <= start || at >= conninfo.size() ||
                conninfo[at] != '@')
                continue;
            std::string_view user_info = conninfo.substr(start, at - start);
            if (auto colon = user_info.find(':'); colon != std::string_view::npos)
                add(user_info.substr(colon + 1));
        }
    }
    for (std::size_t p = conninfo.find("password"); p != std::string_view::npos;
         p = conninfo.find("password", p + 1)) {
        std::size_t v = conninfo.find_first_not_of(" =", p + 8);
        if (v == std::string_view::npos || conninfo.find('=', p + 8) >= v) continue;
        bool quoted = conninfo[v] == '\'';  // keyword=value form: password='a b'
        if (quoted) ++v;
        std::size_t end = std::min(
            quoted ? conninfo.find('\'', v) : conninfo.find_first_of("& \t#", v), conninfo.size());
        add(conninfo.substr(v, end - v));
    }
    std::sort(out.begin(), out.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    return out;
}

// `message` as one line, with every spelling of the connection string's password masked.
std::string redacted(std::string_view message, const std::vector<std::string>& secrets) {
    std::string out = one_line(message);
    for (const std::string& s : secrets) {
        for (std::size_t p = out.find(s); p != std::string::npos; p = out.find(s, p + 3))
            out.replace(p, s.size(), "***");
    }
    return out;
}

// A PostgreSQL array literal of strings: {"a","b\"c"}.
void append_text_element(std::string& array, std::string_view value) {
    array += array.size() > 1 ? ",\"" : "\"";
    for (char c : value) {
        if (c == '"' || c == '\\') array += '\\';
        array += c;
    }
    array += '"';
}

template <class Int>
void append_int_element(std::string& array, Int value) {
    if (array.size() > 1) array += ',';
    array += std::to_string(value);
}

std::optional<std::int64_t> int_of(const char* text) {
    std::string_view s(text);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

class postgres_store final : public ledger_store {
  public:
    explicit postgres_store(std::string uri) : uri_(std::move(uri)), secrets_(secrets_of(uri_)) {}
    ~postgres_store() override { disconnect(); }
    postgres_store(const postgres_store&) = delete;
    postgres_store& operator=(const postgres_store&) = delete;

    std::string write(const ledger_data& delta) override;
    std::string read(utc_day from_day, ledger_data& out, std::int64_t& since) override;

  private:
    std::string connect();
    std::string create_schema();
    void disconnect() {
        if (conn_) PQfinish(conn_);
        conn_ = nullptr;
    }
    // Runs a statement; "" if it ended with `expect`, else why (and the result is dropped).
    std::string run(const char* sql, const std::vector<const char*>& params, ExecStatusType expect,
                    result_ptr* result = nullptr);
    // After a failure: roll back if the connection lives, else drop it (the next call reconnects).
    std::string fail(std::string why);
    std::string begin(const char* sql);

    std::string uri_;
    std::vector<std::string> secrets_;
    PGconn* conn_ = nullptr;
};

std::string postgres_store::connect() {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return {};
    disconnect();
    // expand_dbname: the URI's own parameters override the ones before it. A server that stops
    // answering without closing the connection must not hold the ledger thread (and the exit,
    // which waits for it) for ever: TCP keepalives and a user timeout end such a call in ~10 s.
    const char* keys[] = {"connect_timeout",           "keepalives",       "keepalives_idle",
                          "keepalives_interval",       "keepalives_count", "tcp_user_timeout",
                          "fallback_application_name", "dbname",           nullptr};
    const char* values[] = {"3", "1", "5", "2", "3", "10000", "shimgate", uri_.c_str(), nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    if (!conn_) return "postgresql: out of memory";
    if (PQstatus(conn_) != CONNECTION_OK) {
        std::string why = "postgresql: " + redacted(PQerrorMessage(conn_), secrets_);
        disconnect();
        return why;
    }
    // CREATE TABLE IF NOT EXISTS notices ("relation ... already exists, skipping") go nowhere.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    if (std::string why = create_schema(); !why.empty()) {
        disconnect();
        return why;
    }
    return {};
}

std::string postgres_store::create_schema() {
    std::string now = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
    result_ptr version(nullptr, &PQclear);
    std::string why = run("BEGIN", {}, PGRES_COMMAND_OK);
    if (why.empty())
        why = run("SELECT pg_advisory_xact_lock($1::bigint)", {schema_lock_key}, PGRES_TUPLES_OK);
    if (why.empty()) why = run(create_schema_sql, {}, PGRES_COMMAND_OK);
    if (why.empty())
        why =
            run("INSERT INTO shimgate_ledger_meta (key, value) VALUES ('schema_version', $1), "
                "('since', $2) ON CONFLICT (key) DO NOTHING",
                {std::to_string(ledger_schema_version).c_str(), now.c_str()}, PGRES_COMMAND_OK);
    if (why.empty())
        why = run("SELECT value FROM shimgate_ledger_meta WHERE key = 'schema_version'", {},
                  PGRES_TUPLES_OK, &version);
    if (why.empty()) why = run("COMMIT", {}, PGRES_COMMAND_OK);
    if (!why.empty()) return fail(std::move(why));
    std::string text = PQntuples(version.get()) == 1 ? PQgetvalue(version.get(), 0, 0) : "";
    auto v = int_of(text.c_str());
    if (!v || *v < 1)
        return "postgresql: the ledger's schema_version \"" + one_line(text) +
               "\" (table shimgate_ledger_meta) is not a version";
    if (*v > ledger_schema_version)
        return "postgresql: the ledger's schema_version " + std::to_string(*v) +
               " (table shimgate_ledger_meta) is newer than this shimgate understands (" +
               std::to_string(ledger_schema_version) + ")";
    return {};
}

std::string postgres_store::run(const char* sql, const std::vector<const char*>& params,
                                ExecStatusType expect, result_ptr* result) {
    result_ptr r(params.empty() ? PQexec(conn_, sql)
                                : PQexecParams(conn_, sql, static_cast<int>(params.size()), nullptr,
                                               params.data(), nullptr, nullptr, 0),
                 &PQclear);
    if (r && PQresultStatus(r.get()) == expect) {
        if (result) *result = std::move(r);
        return {};
    }
    const char* why = r ? PQresultErrorMessage(r.get()) : "";
    if (!*why) why = PQerrorMessage(conn_);
    return "postgresql: " + redacted(*why ? why : "the statement failed", secrets_);
}

std::string postgres_store::fail(std::string why) {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) {
        result_ptr r(PQexec(conn_, "ROLLBACK"), &PQclear);
        if (PQstatus(conn_) == CONNECTION_OK) return why;
    }
    disconnect();
    return why;
}

// Opens a transaction, connecting first if need be. A kept connection the server has dropped
// since (a restart) fails at BEGIN, before anything is sent: connect once more and retry.
std::string postgres_store::begin(const char* sql) {
    bool reused = conn_ != nullptr;
    if (std::string why = connect(); !why.empty()) return why;
    std::string why = run(sql, {}, PGRES_COMMAND_OK);
    if (why.empty()) return {};
    if (!reused || PQstatus(conn_) == CONNECTION_OK) return fail(std::move(why));
    disconnect();
    if (std::string again = connect(); !again.empty()) return again;
    why = run(sql, {}, PGRES_COMMAND_OK);
    return why.empty() ? std::string{} : fail(std::move(why));
}

std::string postgres_store::write(const ledger_data& delta) {
    if (delta.empty()) return {};
    // Column arrays, in the map's order: every writer locks rows in one order (no deadlock).
    std::string c_rule = "{", c_fp = "{", c_first = "{", c_last = "{", c_succ = "{";
    std::string d_rule = "{", d_fp = "{", d_day = "{", d_ok = "{", d_gone = "{", d_err = "{";
    for (const auto& [id, record] : delta.clients) {
        std::string fp = fingerprint_hex(id.fingerprint);
        append_text_element(c_rule, id.rule);
        append_text_element(c_fp, fp);
        append_int_element(c_first, record.first_seen);
        append_int_element(c_last, record.last_seen);
        append_int_element(c_succ, record.last_successor);
        for (const auto& [day, counts] : record.days) {
            append_text_element(d_rule, id.rule);
            append_text_element(d_fp, fp);
            append_int_element(d_day, day);
            append_int_element(d_ok, counts.ok);
            append_int_element(d_gone, counts.gone);
            append_int_element(d_err, counts.error);
        }
    }
    for (std::string* a : {&c_rule, &c_fp, &c_first, &c_last, &c_succ, &d_rule, &d_fp, &d_day,
                           &d_ok, &d_gone, &d_err})
        *a += '}';
    if (std::string why = begin("BEGIN"); !why.empty()) return why;
    std::string why =
        run(upsert_clients_sql,
            {c_rule.c_str(), c_fp.c_str(), c_first.c_str(), c_last.c_str(), c_succ.c_str()},
            PGRES_COMMAND_OK);
    if (why.empty() && d_rule.size() > 2)
        why = run(upsert_days_sql,
                  {d_rule.c_str(), d_fp.c_str(), d_day.c_str(), d_ok.c_str(), d_gone.c_str(),
                   d_err.c_str()},
                  PGRES_COMMAND_OK);
    // A COMMIT whose answer is lost (the connection breaks) leaves it unknown whether it applied.
    if (why.empty()) why = run("COMMIT", {}, PGRES_COMMAND_OK);
    return why.empty() ? std::string{} : fail(std::move(why));
}

std::string postgres_store::read(utc_day from_day, ledger_data& out, std::int64_t& since) {
    // One snapshot for the three tables.
    if (std::string why = begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !why.empty())
        return why;
    result_ptr meta(nullptr, &PQclear), clients(nullptr, &PQclear), days(nullptr, &PQclear);
    std::string from = std::to_string(from_day);
    std::string why = run("SELECT value FROM shimgate_ledger_meta WHERE key = 'since'", {},
                          PGRES_TUPLES_OK, &meta);
    if (why.empty())
        why =
            run("SELECT rule, fingerprint, first_seen, last_seen, last_successor "
                "FROM shimgate_ledger_clients",
                {}, PGRES_TUPLES_OK, &clients);
    if (why.empty())
        why =
            run("SELECT rule, fingerprint, day, ok, gone, error FROM shimgate_ledger_days "
                "WHERE day >= $1::integer",
                {from.c_str()}, PGRES_TUPLES_OK, &days);
    if (why.empty()) why = run("COMMIT", {}, PGRES_COMMAND_OK);
    if (!why.empty()) return fail(std::move(why));

    ledger_data data;
    for (int i = 0, n = PQntuples(clients.get()); i < n; ++i) {
        auto fp = parse_fingerprint(PQgetvalue(clients.get(), i, 1));
        auto first = int_of(PQgetvalue(clients.get(), i, 2));
        auto last = int_of(PQgetvalue(clients.get(), i, 3));
        auto succ = int_of(PQgetvalue(clients.get(), i, 4));
        if (!fp || !first || !last || !succ) continue;  // garbled by hand: not ours to show
        client_record& r = data.clients[client_id{PQgetvalue(clients.get(), i, 0), *fp}];
        r.first_seen = *first;
        r.last_seen = *last;
        r.last_successor = *succ;
    }
    for (int i = 0, n = PQntuples(days.get()); i < n; ++i) {
        auto fp = parse_fingerprint(PQgetvalue(days.get(), i, 1));
        auto day = int_of(PQgetvalue(days.get(), i, 2));
        auto ok = int_of(PQgetvalue(days.get(), i, 3));
        auto gone = int_of(PQgetvalue(days.get(), i, 4));
        auto error = int_of(PQgetvalue(days.get(), i, 5));
        if (!fp || !day || !ok || !gone || !error || *ok < 0 || *gone < 0 || *error < 0) continue;
        outcome_counts& c = data.clients[client_id{PQgetvalue(days.get(), i, 0), *fp}]
                                .days[static_cast<utc_day>(*day)];
        c.ok = static_cast<std::uint64_t>(*ok);
        c.gone = static_cast<std::uint64_t>(*gone);
        c.error = static_cast<std::uint64_t>(*error);
    }
    auto s = PQntuples(meta.get()) == 1 ? int_of(PQgetvalue(meta.get(), 0, 0)) : std::nullopt;
    since = s.value_or(0);
    out = std::move(data);
    return {};
}

}  // namespace

store_opening open_postgres_store(const std::string& uri) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
    if (!options) {
        std::string why = error ? redacted(error, secrets_of(uri)) : "out of memory";
        PQfreemem(error);
        return {nullptr, "--ledger: not a PostgreSQL connection URI: " + why};
    }
    PQconninfoFree(options);
    return {std::make_unique<postgres_store>(uri), {}};
}

}  // namespace shimgate
