// /migration from the client ledger: status and call windows at their UTC edges, the order to
// chase clients in, the JSON byte for byte, escaping of names, routes without clients or without
// a loaded rule, and the schedule with its countdown.
#include "observe/migration_page.hpp"

#include <gtest/gtest.h>

#include "config/rule_loader.hpp"
#include "fixtures/migration_fixture.hpp"
#include "json/json_validate.hpp"

namespace shimgate {
namespace {

using clock = std::chrono::system_clock;
using namespace migration_fixture;

// Not deprecated: never a route of the page.
const std::string plain_json = rule_json("mintlify-update-user", "PUT", "/api/user");
// Deprecated without a sunset or successor.
const std::string open_ended_json =
    rule_json("stateset-old", "POST", "/old", R"({"deprecation": "2024-01-01"})");

struct page_input {
    ledger_data ledger;
    client_names names;
    migration_input in;
    explicit page_input(rule_set_ptr rules) {
        in.rules = std::move(rules);
        in.ledger = &ledger;
        in.names = &names;
        in.ledger_since = 1793491200;  // 2026-11-01T00:00:00Z
        in.ledger_source = "sqlite:shimgate-ledger.sqlite3";
        in.now = at(now_unix);
    }
    void add(const std::string& rule, std::uint64_t fp, client_record r) {
        ledger.clients[client_id{rule, fp}] = std::move(r);
    }
};

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

TEST(MigrationPage, MigratedOnlyWhenTheSuccessorWasCalledAfterTheLastDeprecatedCall) {
    const std::int64_t t = now_unix - 3600;
    EXPECT_EQ(status_of(calls(t, {}, 0), at(now_unix)), client_status::active);
    EXPECT_EQ(status_of(calls(t, {}, t - 1), at(now_unix)), client_status::active);
    EXPECT_EQ(status_of(calls(t, {}, t), at(now_unix)), client_status::migrated)
        << "a successor call in the same second is taken as the later one";
    EXPECT_EQ(status_of(calls(t, {}, t + 1), at(now_unix)), client_status::migrated);
    // Migrated wins over quiet too: a client that moved long ago.
    EXPECT_EQ(status_of(calls(t - 30 * day_seconds, {}, t - 29 * day_seconds), at(now_unix)),
              client_status::migrated);
    EXPECT_EQ(to_string(client_status::active), "active");
    EXPECT_EQ(to_string(client_status::quiet), "quiet");
    EXPECT_EQ(to_string(client_status::migrated), "migrated");
}

TEST(MigrationPage, ActiveMeansTodayOrTheSixUtcDaysBefore) {
    const std::int64_t window_start = today_start - 6 * day_seconds;  // 2027-04-28T00:00:00Z
    EXPECT_EQ(status_of(calls(window_start, {}), at(now_unix)), client_status::active);
    EXPECT_EQ(status_of(calls(window_start - 1, {}), at(now_unix)), client_status::quiet)
        << "23:59:59 the day before the window";
    EXPECT_EQ(status_of(calls(today_start - 7 * day_seconds, {}), at(now_unix)),
              client_status::quiet)
        << "7 days ago at 00:00 UTC is the day before the window";
    // The window moves at UTC midnight, not 7 * 24 h after the call.
    EXPECT_EQ(status_of(calls(window_start, {}), at(today_start + day_seconds - 1)),
              client_status::active);
    EXPECT_EQ(status_of(calls(window_start, {}), at(today_start + day_seconds)),
              client_status::quiet);
    // By day rows alone (a delta whose last_seen is older or unset).
    EXPECT_EQ(status_of(calls(0, {{today - 6, {1, 0, 0}}}), at(now_unix)), client_status::active);
    EXPECT_EQ(status_of(calls(0, {{today - 7, {1, 0, 0}}}), at(now_unix)), client_status::quiet);
    EXPECT_EQ(status_of(calls(0, {{today, {0, 0, 0}}}), at(now_unix)), client_status::quiet)
        << "an empty day row is no call";
    EXPECT_EQ(status_of(client_record{}, at(now_unix)), client_status::quiet);
}

TEST(MigrationPage, CallsInLastCountWholeUtcDaysEndingToday) {
    const client_record r =
        calls(now_unix, {{today - 30, {1000, 0, 0}},
                         {today - 29, {100, 0, 0}},
                         {today - 7, {0, 10, 0}},
                         {today - 6, {0, 0, 1}},
                         {today - 1, {2, 0, 0}},
                         {today, {5, 3, 1}},
                         {today + 1, {7000, 0, 0}}});  // a replica's clock ahead: not yet
    EXPECT_EQ(calls_in_last(r, 1, at(now_unix)), (outcome_counts{5, 3, 1}));
    EXPECT_EQ(calls_in_last(r, 7, at(now_unix)), (outcome_counts{7, 3, 2}));
    EXPECT_EQ(calls_in_last(r, 30, at(now_unix)), (outcome_counts{107, 13, 2}));
    EXPECT_EQ(calls_in_last(r, 0, at(now_unix)), (outcome_counts{}));
    // At 00:00:00 UTC "today" is the new day; a second before it is still yesterday.
    EXPECT_EQ(calls_in_last(r, 1, at(today_start)), (outcome_counts{5, 3, 1}));
    EXPECT_EQ(calls_in_last(r, 1, at(today_start - 1)), (outcome_counts{2, 0, 0}));
    EXPECT_EQ(calls_in_last(r, 7, at(today_start - 1)), (outcome_counts{2, 10, 1}));
    EXPECT_EQ(calls_in_last(r, 30, at(today_start - 1)), (outcome_counts{1102, 10, 1}));
    EXPECT_EQ(calls_in_last(r, 1, at(today_start + day_seconds)), (outcome_counts{7000, 0, 0}));
}

TEST(MigrationPage, JsonIsExactForASmallLedger) {
    page_input p(rules_of({&plain_json, &explo_json}));
    p.names[0x00000000000000abULL] = "Acme billing";
    p.add("explo-update-user-group", 0xab, calls(now_unix - 60, {{today, {2, 1, 0}}}));
    p.add("explo-update-user-group", 0xcd,
          calls(now_unix - 20 * day_seconds, {{today - 20, {0, 0, 4}}}, now_unix - 60));
    const std::string json = render_migration_json(p.in);
    EXPECT_EQ(json,
              R"({"ledger_since":"2026-11-01T00:00:00Z","ledger":"sqlite:shimgate-ledger.sqlite3",)"
              R"("routes":[{"rule":"explo-update-user-group","sunset":"2027-06-30T00:00:00Z",)"
              R"("successor":"/api/update_customer/","clients":[)"
              R"({"fingerprint":"00000000000000ab","name":"Acme billing",)"
              R"("first_seen":"2026-11-01T00:00:00Z","last_seen":"2027-05-04T19:59:00Z",)"
              R"("last_successor":null,"calls_1d":{"ok":2,"gone":1,"error":0},)"
              R"("calls_7d":{"ok":2,"gone":1,"error":0},"calls_30d":{"ok":2,"gone":1,"error":0},)"
              R"("status":"active"},)"
              R"({"fingerprint":"00000000000000cd","name":null,)"
              R"("first_seen":"2026-11-01T00:00:00Z","last_seen":"2027-04-14T20:00:00Z",)"
              R"("last_successor":"2027-05-04T19:59:00Z","calls_1d":{"ok":0,"gone":0,"error":0},)"
              R"("calls_7d":{"ok":0,"gone":0,"error":0},"calls_30d":{"ok":0,"gone":0,"error":4},)"
              R"("status":"migrated"}]}]})");
    EXPECT_TRUE(check_json_value(json).ok) << check_json_value(json).problem << json;
}

TEST(MigrationPage, ClientsToChaseFirstActiveThenQuietThenMigrated) {
    page_input p(rules_of({&explo_json}));
    const std::string rule = "explo-update-user-group";
    const std::int64_t old = now_unix - 10 * day_seconds;
    p.add(rule, 0x01, calls(old, {{today - 10, {50, 0, 0}}}, now_unix));  // migrated
    p.add(rule, 0x02, calls(old, {{today - 10, {9, 0, 0}}}));             // quiet
    p.add(rule, 0x03, calls(now_unix, {{today, {1, 0, 0}}}));             // active, 1
    p.add(rule, 0x04, calls(now_unix, {{today, {3, 0, 0}}}));             // active, 3
    p.add(rule, 0x05, calls(now_unix, {{today - 2, {0, 3, 0}}}));         // active, 3
    p.add(rule, 0x06, calls(old, {{today - 10, {99, 0, 0}}}));            // quiet
    p.add(rule, 0x07, calls(old, {{today - 10, {1, 0, 0}}}, old + 1));    // migrated
    const std::string json = render_migration_json(p.in);
    std::vector<std::string> order;
    for (std::size_t at = json.find(R"("fingerprint":")"); at != std::string::npos;
         at = json.find(R"("fingerprint":")", at + 1))
        order.push_back(json.substr(at + 15 + 14, 2));
    // Active by 7-day calls (a tie by fingerprint), quiet (no 7-day calls: by fingerprint),
    // migrated likewise.
    EXPECT_EQ(order, (std::vector<std::string>{"04", "05", "03", "02", "06", "01", "07"}));
    // The page lists them in the same order.
    const std::string html = render_migration_html(p.in);
    std::size_t last = 0;
    for (const std::string& fp : order) {
        const std::size_t where = html.find("00000000000000" + fp);
        ASSERT_NE(where, std::string::npos) << fp;
        EXPECT_GT(where, last) << fp;
        last = where;
    }
}

TEST(MigrationPage, NamesAreEscapedInHtmlAndJson) {
    page_input p(rules_of({&explo_json}));
    p.names[0x42] = "<b>\"Acme\" & 'co'</b>\n\\";
    p.add("explo-update-user-group", 0x42, calls(now_unix, {{today, {1, 0, 0}}}));
    const std::string json = render_migration_json(p.in);
    EXPECT_TRUE(contains(json, R"("name":"<b>\"Acme\" & 'co'</b>\n\\")")) << json;
    EXPECT_TRUE(check_json_value(json).ok) << check_json_value(json).problem << json;
    const std::string html = render_migration_html(p.in);
    EXPECT_TRUE(contains(html, "&lt;b&gt;&quot;Acme&quot; &amp; &#39;co&#39;&lt;/b&gt;")) << html;
    EXPECT_FALSE(contains(html, "<b>\"Acme")) << html;
}

TEST(MigrationPage, ARouteWithoutClientsSaysSoNeutrallyWithTheLedgerSource) {
    page_input p(rules_of({&plain_json, &explo_json, &open_ended_json}));
    const std::string json = render_migration_json(p.in);
    EXPECT_EQ(json,
              R"({"ledger_since":"2026-11-01T00:00:00Z","ledger":"sqlite:shimgate-ledger.sqlite3",)"
              R"("routes":[{"rule":"explo-update-user-group","sunset":"2027-06-30T00:00:00Z",)"
              R"("successor":"/api/update_customer/","clients":[]},)"
              R"({"rule":"stateset-old","sunset":null,"successor":null,"clients":[]}]})");
    const std::string html = render_migration_html(p.in);
    EXPECT_TRUE(contains(html,
                         "No client has called this deprecated route since 2026-11-01 00:00 UTC "
                         "(ledger: <code>sqlite:shimgate-ledger.sqlite3</code>)."))
        << html;
    EXPECT_FALSE(contains(html, "class=\"status")) << "no client, no status badge";
    EXPECT_FALSE(contains(html, "migrated</")) << "an empty ledger is not \"migrated\"";
    EXPECT_FALSE(contains(html, "mintlify-update-user")) << "not deprecated: not a route";
    EXPECT_TRUE(contains(html, "no sunset set")) << html;
    EXPECT_TRUE(contains(html, "no successor set")) << html;
    EXPECT_FALSE(contains(html, "<script")) << "self-contained";
    EXPECT_FALSE(contains(html, "http://")) << "no external resources";
    EXPECT_FALSE(contains(html, "https://")) << "no external resources";
}

TEST(MigrationPage, ALedgerRuleThatIsNotLoadedIsShownWithoutSchedule) {
    page_input p(rules_of({&explo_json, &plain_json}));
    p.add("a-retired-rule", 0x11, calls(now_unix - 100 * day_seconds, {}));
    p.add("mintlify-update-user", 0x12, calls(now_unix, {{today, {1, 0, 0}}}));
    p.add("explo-update-user-group", 0x13, calls(now_unix, {{today, {1, 0, 0}}}));
    const std::string json = render_migration_json(p.in);
    // Loaded deprecated rules first, then the ledger's other names in name order.
    const auto explo = json.find(R"("rule":"explo-update-user-group")");
    const auto retired = json.find(R"("rule":"a-retired-rule","sunset":null,"successor":null,)");
    const auto undeprecated =
        json.find(R"("rule":"mintlify-update-user","sunset":null,"successor":null,)");
    ASSERT_NE(explo, std::string::npos) << json;
    ASSERT_NE(retired, std::string::npos) << json;
    ASSERT_NE(undeprecated, std::string::npos) << json;
    EXPECT_LT(explo, retired);
    EXPECT_LT(retired, undeprecated);
    EXPECT_TRUE(contains(json, R"("fingerprint":"0000000000000011")")) << json;
    const std::string html = render_migration_html(p.in);
    EXPECT_TRUE(contains(html, "a-retired-rule <small>not in the loaded rules: no schedule"))
        << html;
    EXPECT_TRUE(contains(html, "mintlify-update-user <small>loaded, no longer deprecated")) << html;
    EXPECT_TRUE(contains(html, "<span class=\"status quiet\">quiet</span>")) << html;
}

TEST(MigrationPage, ScheduleSaysPastRunningToComeAndTheTimeToTheSunset) {
    page_input p(rules_of({&explo_json}));
    const std::string html = render_migration_html(p.in);
    EXPECT_TRUE(contains(html,
                         "<li class=\"past\">Deprecated 2024-01-01 00:00 UTC "
                         "<span class=\"when\">past</span></li>"
                         "<li class=\"past\">Brownout 2027-04-01 10:00 UTC &rarr; 2027-04-01 22:00 "
                         "UTC <span class=\"when\">past</span></li>"
                         "<li class=\"running\">Brownout 2027-05-04 14:00 UTC &rarr; 2027-05-05 "
                         "02:00 UTC <span class=\"when\">running now</span></li>"
                         "<li class=\"to-come\">Brownout 2027-06-01 14:00 UTC &rarr; 2027-06-02 "
                         "14:00 UTC <span class=\"when\">to come</span></li>"
                         "<li class=\"to-come\">Sunset 2027-06-30 00:00 UTC (then 410) "
                         "<span class=\"when\">to come</span></li>"))
        << html;
    EXPECT_TRUE(contains(html, "<p class=\"countdown\">56 days 4 hours left</p>")) << html;
    EXPECT_TRUE(contains(html, "&rarr; successor <code>/api/update_customer/</code>")) << html;

    const std::int64_t sunset = 1814313600;
    p.in.now = at(sunset + 3 * day_seconds + 5 * 3600);
    const std::string after = render_migration_html(p.in);
    EXPECT_TRUE(contains(after, "<p class=\"countdown\">sunset passed 3 days ago</p>")) << after;
    EXPECT_TRUE(contains(after,
                         "Sunset 2027-06-30 00:00 UTC (then 410) "
                         "<span class=\"when\">past</span>"))
        << after;
    p.in.now = at(sunset);
    EXPECT_TRUE(contains(render_migration_html(p.in), "sunset passed just now"));
    p.in.now = at(sunset - 2 * 3600 - 60);
    EXPECT_TRUE(contains(render_migration_html(p.in), "2 hours 1 minute left"));
    p.in.now = at(sunset - 1 * day_seconds);
    EXPECT_TRUE(contains(render_migration_html(p.in), "1 day left"));
    p.in.now = at(sunset - 30);
    EXPECT_TRUE(contains(render_migration_html(p.in), "less than a minute left"));
}

TEST(MigrationPage, LedgerProblemAndSourceAreShown) {
    page_input p(rules_of({&explo_json}));
    p.in.ledger_source = "postgresql://db.internal/shim";
    p.in.ledger_problem = "cannot reach <db.internal>: connection refused";
    const std::string html = render_migration_html(p.in);
    EXPECT_TRUE(contains(html,
                         "<p class=\"problem\" role=\"alert\"><strong>Ledger problem:</strong> "
                         "cannot reach &lt;db.internal&gt;: connection refused."))
        << html;
    EXPECT_TRUE(contains(html,
                         "Ledger <code>postgresql://db.internal/shim</code>, holds data "
                         "since 2026-11-01 00:00 UTC"))
        << html;
    p.in.ledger_problem.clear();
    EXPECT_FALSE(contains(render_migration_html(p.in), "class=\"problem\""));
    // No ledger, no names, no rules at all: still a page and valid JSON.
    migration_input bare{};
    bare.now = at(now_unix);
    EXPECT_EQ(render_migration_json(bare), R"({"ledger_since":null,"ledger":"","routes":[]})");
    EXPECT_TRUE(contains(render_migration_html(bare), "No deprecated route is configured."));
}

}  // namespace
}  // namespace shimgate
