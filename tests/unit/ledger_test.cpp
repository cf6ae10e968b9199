// The client ledger's pieces without a network: the data's merge, fingerprints, the outcome rules
// (junk never enters, a 410 of an unknown client is not counted), a worker's recorder, the
// successor call's credential, --clients files, and the ledger service over a real SQLite file
// (restart keeps it, several processes' writes add up, the unwritten deltas' bound).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "config/rule_loader.hpp"
#include "fixtures/temp_dir.hpp"
#include "ledger/client_names.hpp"
#include "ledger/ledger_calls.hpp"
#include "ledger/ledger_recorder.hpp"
#include "ledger/ledger_service.hpp"
#include "ledger/ledger_store.hpp"
#include "proxy/head_parser.hpp"

namespace shimgate {
namespace {

namespace fs = std::filesystem;

using fixtures::temp_dir;

constexpr std::int64_t day0 = 1764979200;  // 2025-12-06T00:00:00Z
constexpr std::uint64_t fp_a = 0x1111, fp_b = 0x2222;

TEST(LedgerData, FingerprintsAreStableAndHex) {
    EXPECT_EQ(fingerprint_hex(fingerprint_of("demo-token")), "49897762e129dbaa");
    EXPECT_EQ(fingerprint_hex(fingerprint_of("")), "34bb903f0504b898");
    EXPECT_NE(fingerprint_of("a"), fingerprint_of("b"));
    EXPECT_EQ(parse_fingerprint("49897762E129DBAA"), fingerprint_of("demo-token"));
    EXPECT_FALSE(parse_fingerprint("49897762e129dba"));    // 15
    EXPECT_FALSE(parse_fingerprint("49897762e129dbaag"));  // 17
    EXPECT_FALSE(parse_fingerprint("49897762e129dbaz"));
    EXPECT_EQ(day_of(day0), day_of(day0 + 86399));
    EXPECT_EQ(day_of(day0) + 1, day_of(day0 + 86400));
    EXPECT_EQ(day_of(-1), -1);  // before 1970: floor, not truncation
}

TEST(LedgerData, MergeAddsCountsAndWidensInstants) {
    ledger_data a, b;
    client_record& ra = a.clients[{"explo", fp_a}];
    ra.first_seen = day0 + 100;
    ra.last_seen = day0 + 200;
    ra.days[day_of(day0)] = {2, 0, 1};
    client_record& rb = b.clients[{"explo", fp_a}];
    rb.first_seen = 0;  // a successor call only: no deprecated call in this delta
    rb.last_successor = day0 + 300;
    rb.days[day_of(day0)] = {1, 1, 0};
    rb.days[day_of(day0) + 1] = {0, 0, 4};
    b.clients[{"explo", fp_b}].first_seen = day0 + 50;
    a.add(b);
    const client_record& m = a.clients.at({"explo", fp_a});
    EXPECT_EQ(m.first_seen, day0 + 100);  // 0 never wins
    EXPECT_EQ(m.last_seen, day0 + 200);
    EXPECT_EQ(m.last_successor, day0 + 300);
    EXPECT_EQ(m.days.at(day_of(day0)), (outcome_counts{3, 1, 1}));
    EXPECT_EQ(m.days.at(day_of(day0) + 1), (outcome_counts{0, 0, 4}));
    EXPECT_EQ(a.clients.size(), 2u);
    EXPECT_EQ(a.day_rows(), 2u);
}

TEST(LedgerOutcome, OkNeedsBothTheUpstreamsAndTheClientsTwoHundred) {
    EXPECT_EQ(outcome_of(200, 200, false), call_outcome::ok);
    EXPECT_EQ(outcome_of(201, 204, false), call_outcome::ok);
    EXPECT_EQ(outcome_of(502, 200, false),
              call_outcome::error);  // the answer could not be rewritten
    EXPECT_EQ(outcome_of(401, 401, false), call_outcome::error);
    EXPECT_EQ(outcome_of(400, 0, false), call_outcome::error);
    EXPECT_EQ(outcome_of(410, 0, true), call_outcome::gone);
    EXPECT_EQ(outcome_of(410, 410, false), call_outcome::error);  // the upstream's own 410
}

TEST(LedgerRecorder, OnlyAnUpstreamTwoHundredMakesAClient) {
    known_registry known;
    ledger_recorder r(known);
    const std::uint64_t junk = r.fingerprint("junk-1");
    r.deprecated_call("explo", junk, call_outcome::error, day0);
    r.deprecated_call("explo", junk, call_outcome::gone, day0);  // a 410 of an unknown client
    EXPECT_TRUE(r.take().empty());
    const std::uint64_t good = r.fingerprint("good");
    r.deprecated_call("explo", good, call_outcome::ok, day0 + 10);
    r.deprecated_call("explo", good, call_outcome::error, day0 + 20);
    r.deprecated_call("explo", good, call_outcome::gone, day0 + 86400);
    ledger_data d = r.take();
    ASSERT_EQ(d.clients.size(), 1u);
    const client_record& c = d.clients.at({"explo", good});
    EXPECT_EQ(c.first_seen, day0 + 10);
    EXPECT_EQ(c.last_seen, day0 + 86400);
    EXPECT_EQ(c.days.at(day_of(day0)), (outcome_counts{1, 0, 1}));
    EXPECT_EQ(c.days.at(day_of(day0) + 1), (outcome_counts{0, 1, 0}));
    // Taken, and still known: its next failing call counts.
    r.deprecated_call("explo", good, call_outcome::error, day0 + 30);
    EXPECT_EQ(r.take().clients.at({"explo", good}).days.at(day_of(day0)).error, 1u);
    // Known for one rule is not known for another.
    r.deprecated_call("other_rule", good, call_outcome::error, day0);
    EXPECT_TRUE(r.take().empty());
    // Known to every worker of the process at once.
    ledger_recorder other_worker(known);
    other_worker.deprecated_call("explo", good, call_outcome::error, day0 + 40);
    EXPECT_EQ(other_worker.take().clients.at({"explo", good}).days.at(day_of(day0)).error, 1u);
    EXPECT_FALSE(known.contains("explo", junk));
}

TEST(LedgerRecorder, KnownFromTheWholeLedgerAndSuccessorCallsOfKnownClientsOnly) {
    known_registry known;
    ledger_data stored;  // the store's clients, read back
    stored.clients[{"explo", fp_a}].first_seen = day0 - 86400;
    known.add_all(stored);
    ledger_recorder r(known);
    r.deprecated_call("explo", fp_a, call_outcome::gone, day0);  // entered on another replica
    r.successor_call("explo", fp_a, day0 + 5);
    r.successor_call("explo", fp_b, day0 + 5);  // unknown: not looked up
    ledger_data d = r.take();
    ASSERT_EQ(d.clients.size(), 1u);
    EXPECT_EQ(d.clients.at({"explo", fp_a}).days.at(day_of(day0)).gone, 1u);
    EXPECT_EQ(d.clients.at({"explo", fp_a}).last_successor, day0 + 5);
}

TEST(LedgerRecorder, FingerprintOfTheLastTokenIsKept) {
    known_registry known;
    ledger_recorder r(known);
    EXPECT_EQ(r.fingerprint("demo-token"), fingerprint_of("demo-token"));
    EXPECT_EQ(r.fingerprint("demo-token"), fingerprint_of("demo-token"));
    EXPECT_EQ(r.fingerprint("other"), fingerprint_of("other"));
    EXPECT_EQ(r.fingerprint("demo-token"), fingerprint_of("demo-token"));
}

TEST(LedgerCalls, SuccessorPathAndItsCredential) {
    const auto loaded = load_rules(SHIMGATE_SOURCE_DIR "/rules");
    ASSERT_EQ(loaded.error, "");
    ASSERT_EQ(loaded.rules->successors.size(), 1u);  // the Explo rule's
    const rule* explo = successor_route(*loaded.rules, "/api/update_customer/");
    ASSERT_NE(explo, nullptr);
    EXPECT_TRUE(explo->deprecation.enabled);
    EXPECT_EQ(successor_route(*loaded.rules, "/api/update_customer"), nullptr);
    EXPECT_EQ(successor_route(*loaded.rules, "/api/user"), nullptr);
    auto credential = [&](const std::string& fields) {
        request_head h;
        request_flat_parser p(h);
        boost::beast::error_code ec;
        p.put_head("GET /api/update_customer/ HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n", ec);
        EXPECT_FALSE(ec) << fields;
        return std::string(successor_credential(*explo, h));
    };
    EXPECT_EQ(credential("Authorization: token  demo-token \r\n"), "demo-token");
    EXPECT_EQ(credential("Authorization: Bearer demo-token\r\n"), "");  // another scheme
    EXPECT_EQ(credential("Authorization: Token a\r\nAuthorization: Token b\r\n"), "");
    EXPECT_EQ(credential("Explo-Authorization: Token demo-token\r\n"), "");  // not the upstream's
}

TEST(ClientNames, ReadAndRefusedWithTheReason) {
    temp_dir dir;
    auto write = [&](const std::string& text) {
        std::ofstream(dir / "clients.json") << text;
        return load_client_names((dir / "clients.json").string());
    };
    auto ok = write(R"({"49897762e129dbaa": "Acme billing", "34BB903F0504B898": "Demo"})");
    ASSERT_EQ(ok.error, "");
    EXPECT_EQ(ok.names.at(fingerprint_of("demo-token")), "Acme billing");
    EXPECT_EQ(ok.names.at(fingerprint_of("")), "Demo");
    EXPECT_NE(write("[]").error.find("expected a JSON object"), std::string::npos);
    EXPECT_NE(write(R"({"xyz": "A"})").error.find("\"xyz\" is not a fingerprint"),
              std::string::npos);
    EXPECT_NE(write(R"({"49897762e129dbaa": 3})").error.find("non-empty string"),
              std::string::npos);
    EXPECT_NE(write("{").error.find("not valid JSON"), std::string::npos);
    auto missing = load_client_names((dir / "nope.json").string());
    EXPECT_NE(missing.error.find("cannot read"), std::string::npos);
    EXPECT_TRUE(missing.names.empty());
}

TEST(LedgerUrl, KindsAndPasswordsNeverShown) {
    EXPECT_EQ(ledger_source("none"), "none (in memory)");
    EXPECT_EQ(ledger_source("postgresql://u:secret@db:5432/x"), "postgresql://u:***@db:5432/x");
    EXPECT_EQ(ledger_source("postgresql://u@db/x"), "postgresql://u@db/x");
    EXPECT_EQ(ledger_source("sqlite:a.db"), "sqlite:a.db");
    EXPECT_FALSE(open_ledger_store("none").store);
    EXPECT_EQ(open_ledger_store("none").error, "");
    const auto bad = open_ledger_store("mysql://u:secret@h/x");
    EXPECT_NE(bad.error.find("none, sqlite:PATH or postgresql://"), std::string::npos);
    EXPECT_EQ(bad.error.find("secret"), std::string::npos);
    EXPECT_NE(open_ledger_store("sqlite:").error, "");
    EXPECT_NE(open_ledger_store("sqlite:/nonexistent-dir/x/ledger.db").error.find("cannot open"),
              std::string::npos);
}

// The service over a real SQLite file: what the workers recorded is written at stop and read
// back by the next process; two "processes" sharing the file add up.
TEST(LedgerService, SqliteFileKeepsTheLedgerAcrossRestartsAndAddsUpWriters) {
    temp_dir dir;
    const std::string url = "sqlite:" + (dir / "ledger.sqlite3").string();
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto run_once = [&](std::uint64_t fp, int calls) {
        store_opening s = open_ledger_store(url);
        EXPECT_EQ(s.error, "");
        known_registry known;
        ledger_recorder worker(known);
        ledger_service service(std::move(s.store), url, std::chrono::hours(1), {&worker}, known);
        service.start();
        for (int i = 0; i < calls; ++i) worker.deprecated_call("explo", fp, call_outcome::ok, now);
        service.stop();  // the drain's write
        const ledger_counts c = service.counts();
        EXPECT_EQ(c.calls.at({"explo", fp}).ok, static_cast<std::uint64_t>(calls));
        EXPECT_EQ(c.flush_failures, 0u);
    };
    run_once(fp_a, 3);
    run_once(fp_a, 2);
    run_once(fp_b, 1);
    store_opening s = open_ledger_store(url);
    ASSERT_EQ(s.error, "");
    ledger_data stored;
    std::int64_t since = 0;
    ASSERT_EQ(s.store->read(day_of(now) - 29, stored, since), "");
    EXPECT_GT(since, 0);
    EXPECT_LE(since, now + 1);
    EXPECT_EQ(stored.clients.at({"explo", fp_a}).days.at(day_of(now)).ok, 5u);
    EXPECT_EQ(stored.clients.at({"explo", fp_b}).days.at(day_of(now)).ok, 1u);
}

// A view sees the store plus what the workers hold; a new process knows the stored clients, so
// their failing calls count from the first one.
TEST(LedgerService, ViewAddsUnwrittenCallsAndStoredClientsAreKnown) {
    temp_dir dir;
    const std::string url = "sqlite:" + (dir / "ledger.sqlite3").string();
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    {
        store_opening s = open_ledger_store(url);
        known_registry known;
        ledger_recorder worker(known);
        ledger_service service(std::move(s.store), url, std::chrono::hours(1), {&worker}, known);
        service.start();
        worker.deprecated_call("explo", fp_a, call_outcome::ok, now);
        service.stop();
    }
    store_opening s = open_ledger_store(url);
    known_registry known;
    ledger_recorder worker(known);
    ledger_service service(std::move(s.store), url, std::chrono::hours(1), {&worker}, known);
    service.start();
    boost::asio::io_context ioc;
    auto view_now = [&] {
        std::optional<ledger_view> v;
        boost::asio::co_spawn(
            ioc, [&]() -> boost::asio::awaitable<void> { v = co_await service.view(); },
            boost::asio::detached);
        ioc.restart();
        ioc.run();
        return *v;
    };
    // The first view reads the store: the worker then knows fp_a.
    EXPECT_EQ(view_now().data.clients.at({"explo", fp_a}).days.at(day_of(now)).ok, 1u);
    worker.deprecated_call("explo", fp_a, call_outcome::error, now);
    const ledger_view v = view_now();
    EXPECT_EQ(v.data.clients.at({"explo", fp_a}).days.at(day_of(now)), (outcome_counts{1, 0, 1}));
    EXPECT_EQ(v.source, url);
    EXPECT_EQ(v.problem, "");
    service.stop();
}

// /metrics: the first 1000 clients of a rule have their own series, the rest add up as "other"
// (fingerprint 0); a series never moves between the two, so counters only grow.
TEST(LedgerService, SeriesPerRuleAreBoundedTheRestIsOther) {
    known_registry known;
    ledger_recorder worker(known);
    ledger_service service(nullptr, "none (in memory)", std::chrono::hours(1), {&worker}, known);
    const std::uint64_t clients = ledger_service::max_series_per_rule + 2;
    for (std::uint64_t fp = 1; fp <= clients; ++fp)
        worker.deprecated_call("explo", fp, call_outcome::ok, day0);
    ledger_counts c = service.counts();
    EXPECT_EQ(c.calls.size(), ledger_service::max_series_per_rule + 1);
    EXPECT_EQ(c.calls.at({"explo", 0}).ok, 2u);
    EXPECT_EQ(c.calls.at({"explo", 1}).ok, 1u);
    worker.deprecated_call("explo", clients, call_outcome::error, day0);  // an "other" client
    worker.deprecated_call("explo", 1, call_outcome::error, day0);
    c = service.counts();
    EXPECT_EQ(c.calls.at({"explo", 0}), (outcome_counts{2, 0, 1}));
    EXPECT_EQ(c.calls.at({"explo", 1}), (outcome_counts{1, 0, 1}));
}

// A store that is down: every write and read fails.
class down_store final : public ledger_store {
  public:
    std::string write(const ledger_data&) override { return "connection refused"; }
    std::string read(utc_day, ledger_data&, std::int64_t&) override { return "connection refused"; }
};

// An outage: requests go on, the calls are kept up to the bound (the rest counted as dropped),
// each failed flush counted, and /migration shows what is kept with the reason.
TEST(LedgerService, OutageKeepsBoundedDeltasAndCountsTheRest) {
    known_registry known;
    ledger_recorder worker(known);
    ledger_service service(std::make_unique<down_store>(), "postgresql://db/x",
                           std::chrono::milliseconds(10), {&worker}, known, 3);
    service.start();
    for (std::uint64_t fp = 1; fp <= 5; ++fp)  // five client-days: three are kept
        worker.deprecated_call("explo", fp, call_outcome::ok, day0);
    worker.deprecated_call("explo", 1, call_outcome::error, day0);  // a kept row grows still
    ledger_counts c = service.counts();
    EXPECT_EQ(c.dropped, 2u);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (service.counts().flush_failures < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a bounded wait
    EXPECT_GE(service.counts().flush_failures, 2u);
    boost::asio::io_context ioc;
    std::optional<ledger_view> v;
    boost::asio::co_spawn(
        ioc, [&]() -> boost::asio::awaitable<void> { v = co_await service.view(); },
        boost::asio::detached);
    ioc.run();
    ASSERT_TRUE(v);
    EXPECT_EQ(v->problem, "connection refused");
    EXPECT_EQ(v->data.day_rows(), 3u);
    EXPECT_EQ(v->data.clients.at({"explo", 1}).days.at(day_of(day0)), (outcome_counts{1, 0, 1}));
    service.stop();
}

// stop() may come just as the flush timer fired (its completion queued, so the cancel finds
// nothing to cancel): that flush must not arm the next, or the ledger thread never ends and the
// process hangs at exit. Many short runs with a 1 ms flush make the two meet.
TEST(LedgerService, StopEndsTheThreadEvenAsAFlushIsDue) {
    for (int i = 0; i < 500; ++i) {
        known_registry known;
        ledger_recorder worker(known);
        ledger_service service(nullptr, "none (in memory)", std::chrono::milliseconds(1), {&worker},
                               known);
        service.start();
        std::this_thread::sleep_for(std::chrono::microseconds(900 + i % 200));  // near a flush
        service.stop();  // returns: the thread ended
    }
}

}  // namespace
}  // namespace shimgate
