// The ledger's stores (ledger_store.hpp) against real databases: one suite, run over every kind
// of store (a line in store_kinds() each), plus the PostgreSQL-only outage and URI cases.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include <filesystem>

#include "harness.hpp"
#include "ledger/ledger_store.hpp"
#include "pg_cluster.hpp"

namespace shimgate::testing {
namespace {

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// One fresh, empty ledger for one test, on which stores are opened.
struct store_place {
    virtual ~store_place() = default;
    virtual store_opening open() = 0;  // one more store (its own connection or handle)
    // SQL straight to the database behind it, to tamper with: "" or why.
    virtual std::string execute(const std::string& sql) = 0;
};

struct store_kind {
    std::string name;
    // A fresh place; null with `why` if the database behind it cannot be had (a test failure).
    std::function<std::unique_ptr<store_place>(std::string& why)> make;
};

void PrintTo(const store_kind& kind, std::ostream* os) {
    *os << kind.name;
}

// One server for the suite (started on first use, stopped at exit), a new database per test.
struct postgres_place final : store_place {
    pg_cluster& cluster;
    std::string database;
    postgres_place(pg_cluster& c, std::string db) : cluster(c), database(std::move(db)) {}
    ~postgres_place() override { cluster.execute("DROP DATABASE IF EXISTS " + database); }
    store_opening open() override { return open_postgres_store(cluster.uri(database)); }
    std::string execute(const std::string& sql) override { return cluster.execute(sql, database); }
};

std::unique_ptr<store_place> make_postgres_place(std::string& why) {
    static pg_cluster cluster;
    static const std::string start_error = cluster.start();
    static int databases = 0;
    if (!start_error.empty()) {
        why = "the test PostgreSQL server did not start: " + start_error;
        return nullptr;
    }
    std::string db = "ledger_" + std::to_string(++databases);
    if (why = cluster.execute("CREATE DATABASE " + db); !why.empty()) return nullptr;
    return std::make_unique<postgres_place>(cluster, db);
}

// A fresh SQLite file per test, removed with its WAL files at the end.
struct sqlite_place final : store_place {
    std::filesystem::path dir = temp_path("ledger-sqlite");
    std::filesystem::path file = dir / "ledger.sqlite3";
    sqlite_place() { std::filesystem::create_directories(dir); }
    ~sqlite_place() override {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    store_opening open() override { return open_sqlite_store(file.string()); }
    std::string execute(const std::string& sql) override {
        sqlite3* db = nullptr;
        std::string why;
        if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) {
            why = sqlite3_errmsg(db);
        } else {
            sqlite3_busy_timeout(db, 5000);
            char* message = nullptr;
            if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK)
                why = message ? message : "sqlite3_exec failed";
            sqlite3_free(message);
        }
        sqlite3_close(db);
        return why;
    }
};

std::unique_ptr<store_place> make_sqlite_place(std::string&) {
    return std::make_unique<sqlite_place>();
}

std::vector<store_kind> store_kinds() {
    return {{"postgresql", make_postgres_place}, {"sqlite", make_sqlite_place}};
}

class LedgerStoreTest : public ::testing::TestWithParam<store_kind> {
  protected:
    void SetUp() override {
        std::string why;
        place_ = GetParam().make(why);
        ASSERT_TRUE(place_) << why;
    }
    std::unique_ptr<ledger_store> open() {
        store_opening o = place_->open();
        EXPECT_TRUE(o.store) << o.error;
        EXPECT_EQ(o.error, "");
        return std::move(o.store);
    }
    ledger_data read_all(ledger_store& store, utc_day from_day = 0) {
        ledger_data out;
        std::int64_t since = 0;
        EXPECT_EQ(store.read(from_day, out, since), "");
        return out;
    }
    std::unique_ptr<store_place> place_;
};

client_record record(std::int64_t first, std::int64_t last, std::int64_t successor,
                     std::map<utc_day, outcome_counts> days) {
    client_record r;
    r.first_seen = first;
    r.last_seen = last;
    r.last_successor = successor;
    r.days = std::move(days);
    return r;
}

// Two rules (one named to trip up quoting), fingerprints at the edges of 64 bits, several days.
ledger_data sample() {
    ledger_data d;
    d.clients[{"legacy-orders", 0x3f9a0012deadbeefULL}] =
        record(1'700'000'000, 1'700'086'400, 0, {{19675, {3, 0, 1}}, {19676, {10, 2, 0}}});
    d.clients[{"legacy-orders", 0xffffffffffffffffULL}] =
        record(1'700'000'100, 1'700'000'200, 1'700'000'300, {{19675, {1, 0, 0}}});
    d.clients[{"we\"ird\\ rule, {x} é", 0}] = record(1'700'000'000, 1'700'000'000, 0, {});
    return d;
}

TEST_P(LedgerStoreTest, EmptyStoreReadsNothingAndASaneSince) {
    auto store = open();
    ASSERT_TRUE(store);
    ledger_data out = sample();  // replaced, not added to
    std::int64_t since = -1;
    const std::int64_t before = now_seconds();
    ASSERT_EQ(store->read(0, out, since), "");
    EXPECT_TRUE(out.empty());
    EXPECT_GE(since, before - 5);
    EXPECT_LE(since, now_seconds() + 5);
}

TEST_P(LedgerStoreTest, WriteThenReadGivesBackExactlyWhatWasWritten) {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_EQ(store->write(sample()), "");
    EXPECT_EQ(read_all(*store), sample());
    auto other = open();  // another connection sees the same
    ASSERT_TRUE(other);
    EXPECT_EQ(read_all(*other), sample());
}

TEST_P(LedgerStoreTest, OverlappingWritesAddCountsAndWidenInstants) {
    auto store = open();
    ASSERT_TRUE(store);
    const client_id a{"legacy-orders", 0x1111222233334444ULL}, b{"legacy-orders", 0x42ULL};
    ledger_data first, second, successor_only;
    first.clients[a] = record(1000, 2000, 0, {{10, {1, 2, 3}}, {11, {4, 0, 0}}});
    first.clients[b] = record(0, 0, 0, {{10, {1, 0, 0}}});  // no instants yet
    second.clients[a] = record(900, 1500, 0, {{11, {1, 1, 1}}, {12, {0, 0, 7}}});
    second.clients[b] = record(5000, 5000, 0, {});
    successor_only.clients[a] = record(0, 0, 3000, {});
    ASSERT_EQ(store->write(first), "");
    ASSERT_EQ(store->write(second), "");
    ASSERT_EQ(store->write(successor_only), "");
    ledger_data got = read_all(*store);
    EXPECT_EQ(got.clients[a],
              record(900, 2000, 3000, {{10, {1, 2, 3}}, {11, {5, 1, 1}}, {12, {0, 0, 7}}}));
    EXPECT_EQ(got.clients[b], record(5000, 5000, 0, {{10, {1, 0, 0}}}));
    EXPECT_EQ(got.clients.size(), 2u);
    ledger_data expected = first;  // and the same as adding in memory
    expected.add(second);
    expected.add(successor_only);
    EXPECT_EQ(got, expected);
}

TEST_P(LedgerStoreTest, TwoStoresWritingAtOnceAddUpExactly) {
    auto one = open(), two = open();
    ASSERT_TRUE(one && two);
    ledger_data unused;
    std::int64_t since = 0;
    ASSERT_EQ(one->read(0, unused, since), "");  // the tables exist before the race
    constexpr int rounds = 25;
    auto writer = [&](ledger_store* store, std::int64_t base, std::string* error) {
        for (int i = 0; i < rounds && error->empty(); ++i) {
            ledger_data d;
            for (std::uint64_t fp = 1; fp <= 20; ++fp)
                d.clients[{"legacy-orders", fp}] =
                    record(base + i, base + i, 0, {{100, {1, 0, 0}}, {101, {0, 1, 2}}});
            *error = store->write(d);
        }
    };
    std::string e1, e2;
    std::thread t1(writer, one.get(), 10'000, &e1), t2(writer, two.get(), 20'000, &e2);
    t1.join();
    t2.join();
    EXPECT_EQ(e1, "");
    EXPECT_EQ(e2, "");
    ledger_data got = read_all(*one);
    ASSERT_EQ(got.clients.size(), 20u);
    for (const auto& [id, r] : got.clients) {
        EXPECT_EQ(r, record(10'000, 20'000 + rounds - 1, 0,
                            {{100, {2 * rounds, 0, 0}}, {101, {0, 2 * rounds, 4 * rounds}}}))
            << fingerprint_hex(id.fingerprint);
    }
}

TEST_P(LedgerStoreTest, FromDaySkipsOlderDaysButKeepsTheClient) {
    auto store = open();
    ASSERT_TRUE(store);
    const client_id a{"r", 1}, b{"r", 2};
    ledger_data d;
    d.clients[a] = record(10, 20, 30, {{100, {1, 0, 0}}, {150, {2, 0, 0}}, {200, {3, 0, 0}}});
    d.clients[b] = record(40, 50, 0, {{100, {9, 9, 9}}});
    ASSERT_EQ(store->write(d), "");
    ledger_data got = read_all(*store, 150);
    ASSERT_EQ(got.clients.size(), 2u);
    EXPECT_EQ(got.clients[a], record(10, 20, 30, {{150, {2, 0, 0}}, {200, {3, 0, 0}}}));
    EXPECT_EQ(got.clients[b], record(40, 50, 0, {}));
}

TEST_P(LedgerStoreTest, SchemaIsCreatedOnceAndSinceStaysAcrossReopening) {
    std::int64_t since1 = 0, since2 = 0;
    ledger_data out;
    {
        auto store = open();
        ASSERT_TRUE(store);
        ASSERT_EQ(store->read(0, out, since1), "");
        ASSERT_EQ(store->write(sample()), "");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a new `since` would differ
    auto again = open();
    ASSERT_TRUE(again);
    ASSERT_EQ(again->read(0, out, since2), "");
    EXPECT_EQ(since2, since1);
    EXPECT_EQ(out, sample());  // the tables were not made again empty
}

TEST_P(LedgerStoreTest, NewerSchemaVersionIsRefusedNamingIt) {
    {
        auto store = open();
        ASSERT_TRUE(store);
        ASSERT_EQ(store->write(sample()), "");
    }
    ASSERT_EQ(
        place_->execute("UPDATE shimgate_ledger_meta SET value = '2' WHERE key = 'schema_version'"),
        "");
    // Refused when opened (SQLite: a local file is checked at start-up) or at first use
    // (PostgreSQL: connected lazily), with one line naming it.
    store_opening o = place_->open();
    std::string why = o.error;
    if (o.store) {
        ledger_data more = sample();
        why = o.store->write(more);
        ledger_data out;
        std::int64_t since = 0;
        EXPECT_NE(o.store->read(0, out, since).find("schema_version"), std::string::npos);
    }
    EXPECT_NE(why.find("schema_version"), std::string::npos) << why;
    EXPECT_NE(why.find('2'), std::string::npos) << why;
    EXPECT_EQ(why.find('\n'), std::string::npos) << why;
    // Back to 1: the refused write changed nothing.
    ASSERT_EQ(
        place_->execute("UPDATE shimgate_ledger_meta SET value = '1' WHERE key = 'schema_version'"),
        "");
    auto fixed = open();
    ASSERT_TRUE(fixed);
    EXPECT_EQ(read_all(*fixed), sample());
}

TEST_P(LedgerStoreTest, GarbledFingerprintRowsAreSkipped) {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_EQ(store->write(sample()), "");
    ASSERT_EQ(place_->execute("INSERT INTO shimgate_ledger_clients VALUES "
                              "('legacy-orders', 'not-a-fingerprint', 1, 2, 0), "
                              "('legacy-orders', '12345', 1, 2, 0)"),
              "");
    ASSERT_EQ(place_->execute("INSERT INTO shimgate_ledger_days VALUES "
                              "('legacy-orders', 'zzzzzzzzzzzzzzzz', 19675, 1, 0, 0)"),
              "");
    EXPECT_EQ(read_all(*store), sample());
}

INSTANTIATE_TEST_SUITE_P(LedgerStore, LedgerStoreTest, ::testing::ValuesIn(store_kinds()),
                         [](const auto& kind) { return kind.param.name; });

// PostgreSQL only: the server goes away and comes back.
TEST(PostgresLedgerStore, OutageFailsTheWriteThenRecoversWithEachDeltaOnce) {
    pg_cluster cluster;
    ASSERT_EQ(cluster.start(), "") << "the test PostgreSQL server did not start";
    store_opening o = open_postgres_store(cluster.uri());
    ASSERT_TRUE(o.store) << o.error;
    ledger_store& store = *o.store;
    ledger_data d1, d2, d3;
    d1.clients[{"r", 7}] = record(100, 100, 0, {{1, {1, 0, 0}}});
    d2.clients[{"r", 7}] = record(200, 200, 0, {{1, {0, 1, 0}}});
    d3.clients[{"r", 7}] = record(300, 300, 350, {{2, {0, 0, 1}}});
    ASSERT_EQ(store.write(d1), "");

    ASSERT_EQ(cluster.stop(), "");
    const auto t0 = std::chrono::steady_clock::now();
    std::string why = store.write(d2);
    EXPECT_NE(why, "");
    EXPECT_EQ(why.find('\n'), std::string::npos) << why;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)) << "connect_timeout";
    ledger_data out;
    std::int64_t since = 0;
    EXPECT_NE(store.read(0, out, since), "");

    ASSERT_EQ(cluster.start(), "");
    ASSERT_EQ(store.read(0, out, since), "");
    EXPECT_EQ(out, d1) << "the failed write changed nothing";
    ASSERT_EQ(store.write(d2), "");
    // Down and up again with no call in between: the kept connection is dead, the write is not.
    ASSERT_EQ(cluster.stop(), "");
    ASSERT_EQ(cluster.start(), "");
    ASSERT_EQ(store.write(d3), "");
    ledger_data expected = d1;
    expected.add(d2);
    expected.add(d3);
    ASSERT_EQ(store.read(0, out, since), "");
    EXPECT_EQ(out, expected);
    EXPECT_EQ((out.clients[{"r", 7}]), record(100, 300, 350, {{1, {1, 1, 0}}, {2, {0, 0, 1}}}));
}

TEST(PostgresLedgerStore, AFailedWriteAppliesNothingAndTheStoreGoesOn) {
    pg_cluster cluster;
    ASSERT_EQ(cluster.start(), "") << "the test PostgreSQL server did not start";
    store_opening o = open_postgres_store(cluster.uri());
    ASSERT_TRUE(o.store) << o.error;
    ledger_data bad;  // the clients upsert goes through, then the days one overflows BIGINT
    bad.clients[{"r", 1}] = record(100, 100, 0, {{1, {1, 0, 0}}});
    bad.clients[{"r", 2}] = record(100, 100, 0, {{1, {UINT64_MAX, 0, 0}}});
    std::string why = o.store->write(bad);
    EXPECT_NE(why, "");
    EXPECT_EQ(why.find('\n'), std::string::npos) << why;
    ledger_data out;
    std::int64_t since = 0;
    ASSERT_EQ(o.store->read(0, out, since), "");
    EXPECT_TRUE(out.empty()) << out.clients.size() << " clients written by a failed write";
    ledger_data good;
    good.clients[{"r", 1}] = record(100, 100, 0, {{1, {1, 0, 0}}});
    ASSERT_EQ(o.store->write(good), "");
    ASSERT_EQ(o.store->read(0, out, since), "");
    EXPECT_EQ(out, good);
}

TEST(PostgresLedgerStore, MalformedUriIsRefusedWithoutShowingThePassword) {
    // libpq's own messages quote the whole URI (the first) or the bad token (the second, the last).
    for (const char* uri : {
             "postgresql://shim:Sup3rSecret@[::1/ledger",
             "postgresql://shim:Sup3r%zzSecret@db.example/ledger",
             "postgresql://shim:Sup3rSecret@db.example/ledger?no_such_option=1",
             "postgresql://shim@db.example/ledger?password=Sup3rSecret&no_such_option=1",
             "postgresql://shim@db.example/ledger?password=Sup3r%zzSecret",
         }) {
        store_opening o = open_postgres_store(uri);
        EXPECT_FALSE(o.store) << uri;
        EXPECT_NE(o.error, "") << uri;
        EXPECT_EQ(o.error.find('\n'), std::string::npos) << o.error;
        EXPECT_EQ(o.error.find("Sup3r"), std::string::npos) << o.error;
        EXPECT_EQ(o.error.find("Secret"), std::string::npos) << o.error;
    }
}

TEST(PostgresLedgerStore, UnreachableServerIsAnErrorAtFirstUseNotAtOpen) {
    unsigned short port = 0;
    ::close(listen_on_loopback(port, "nothing"));  // a port nobody listens on
    store_opening o = open_postgres_store(
        "postgresql://shim:Sup3rSecret@127.0.0.1:" + std::to_string(port) + "/ledger");
    ASSERT_TRUE(o.store) << o.error;
    ledger_data d;
    d.clients[{"r", 1}] = record(1, 1, 0, {});
    std::string why = o.store->write(d);
    EXPECT_NE(why, "");
    EXPECT_EQ(why.find('\n'), std::string::npos) << why;
    EXPECT_EQ(why.find("Sup3r"), std::string::npos) << why;
}

}  // namespace
}  // namespace shimgate::testing
