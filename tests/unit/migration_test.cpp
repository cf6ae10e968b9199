// Migration insight: credential fingerprints, per-client usage of deprecated routes, merging, and
// the JSON and HTML renderings.
#include <gtest/gtest.h>

#include <string>

#include "common/rfc3339.hpp"
#include "json/json_validate.hpp"
#include "observe/migration.hpp"

namespace shimgate {
namespace {

using clock_type = std::chrono::system_clock;

// 2026-11-23T10:15:07Z
constexpr std::int64_t t0 = 1795428907;

clock_type::time_point at(std::int64_t unix_seconds) {
    return clock_type::time_point(std::chrono::seconds(unix_seconds));
}

bool is_hex16(const std::string& s) {
    if (s.size() != 16) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

// The calls_per_day key of a unix time: its UTC date.
std::string utc_date(std::int64_t unix_seconds) {
    return format_rfc3339_date(std::chrono::floor<std::chrono::days>(
        std::chrono::sys_seconds{std::chrono::seconds{unix_seconds}}));
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

TEST(Migration, FingerprintIsStableShortHexAndNeverTheToken) {
    // sha256("shimgate-credential-v1:demo-token"), first 16 hex digits.
    EXPECT_EQ(credential_fingerprint("demo-token"), "49897762e129dbaa");
    EXPECT_EQ(credential_fingerprint("demo-token"), credential_fingerprint("demo-token"));
    EXPECT_EQ(credential_fingerprint(""), "34bb903f0504b898");
    EXPECT_NE(credential_fingerprint("demo-token"), credential_fingerprint("demo-token2"));
    EXPECT_NE(credential_fingerprint("a"), credential_fingerprint("b"));
    for (const char* token : {"", "0123456789abcdef", "49897762e129dbaa", "x"}) {
        const std::string fp = credential_fingerprint(token);
        EXPECT_TRUE(is_hex16(fp)) << fp;
        if (*token) {
            EXPECT_EQ(fp.find(token), std::string::npos);
        }
    }
}

TEST(Migration, RecordsCallsFirstLastSeenAndDays) {
    migration_tracker t;
    t.record("explo_user_group", "tok-a", at(t0));
    t.record("explo_user_group", "tok-a", at(t0 + 86400));
    t.record("explo_user_group", "tok-a", at(t0 - 60));
    t.record("explo_user_group", "tok-b", at(t0));
    t.record("other_rule", "tok-a", at(t0));
    const auto& c = t.snapshot().clients;
    ASSERT_EQ(c.size(), 3u);
    const auto& a = c.at({"explo_user_group", credential_fingerprint("tok-a")});
    EXPECT_EQ(a.calls, 3u);
    EXPECT_EQ(a.first_seen, t0 - 60);
    EXPECT_EQ(a.last_seen, t0 + 86400);
    ASSERT_EQ(a.calls_per_day.size(), 2u);
    EXPECT_EQ(a.calls_per_day.at("2026-11-23"), 2u);
    EXPECT_EQ(a.calls_per_day.at("2026-11-24"), 1u);
    for (const auto& [key, usage] : c) {
        EXPECT_EQ(key.second.find("tok"), std::string::npos);
        (void)usage;
    }
}

// The same client calling again takes the remembered path: counts must match the full path's,
// across day boundaries, clients and rules taking turns, and times going back a day.
TEST(Migration, RepeatedCallerCountsLikeAnyOther) {
    migration_tracker t;
    const std::int64_t midnight = t0 - t0 % 86400 + 86400;  // the next UTC midnight
    for (int i = 0; i < 5; ++i) t.record("r", "tok-a", at(midnight - 3 + i));  // 3 before, 2 after
    t.record("r", "tok-b", at(midnight));
    t.record("r", "tok-a", at(midnight + 1));
    t.record("q", "tok-a", at(midnight + 2));
    t.record("r", "tok-a", at(midnight - 86400));  // back to the day before
    t.record("r", "tok-a", at(midnight + 3));
    const auto& a = t.snapshot().clients.at({"r", credential_fingerprint("tok-a")});
    EXPECT_EQ(a.calls, 8u);
    EXPECT_EQ(a.calls_per_day.at(utc_date(midnight - 86400)), 4u);
    EXPECT_EQ(a.calls_per_day.at(utc_date(midnight)), 4u);
    EXPECT_EQ(a.first_seen, midnight - 86400);
    EXPECT_EQ(a.last_seen, midnight + 3);
    EXPECT_EQ(t.snapshot().clients.at({"r", credential_fingerprint("tok-b")}).calls, 1u);
    EXPECT_EQ(t.snapshot().clients.at({"q", credential_fingerprint("tok-a")}).calls, 1u);
}

TEST(Migration, KeepsRecentDaysOnly) {
    migration_tracker t;
    for (std::int64_t d = 0; d < 70; ++d) t.record("r", "tok", at(t0 + d * 86400));
    const auto& u = t.snapshot().clients.begin()->second;
    EXPECT_EQ(u.calls, 70u);
    EXPECT_EQ(u.calls_per_day.size(), migration_tracker::max_days);
    EXPECT_EQ(u.calls_per_day.rbegin()->first, utc_date(t0 + 69 * 86400));
}

TEST(Migration, MergesWorkers) {
    migration_tracker w1, w2;
    w1.record("r", "tok-a", at(t0));
    w1.record("r", "tok-a", at(t0 + 10));
    w2.record("r", "tok-a", at(t0 - 86400));
    w2.record("r", "tok-b", at(t0 + 5));
    migration_snapshot merged;
    merged.add(w1.snapshot());
    merged.add(w2.snapshot());
    ASSERT_EQ(merged.clients.size(), 2u);
    const auto& a = merged.clients.at({"r", credential_fingerprint("tok-a")});
    EXPECT_EQ(a.calls, 3u);
    EXPECT_EQ(a.first_seen, t0 - 86400);
    EXPECT_EQ(a.last_seen, t0 + 10);
    EXPECT_EQ(a.calls_per_day.at("2026-11-22"), 1u);
    EXPECT_EQ(a.calls_per_day.at("2026-11-23"), 2u);
    // Merging into an existing entry whose first_seen is 0 must not take 0 as a real time.
    client_usage empty;
    empty.add(a);
    EXPECT_EQ(empty.first_seen, t0 - 86400);
}

TEST(Migration, JsonExactAndClientsByCalls) {
    migration_tracker t;
    t.record("r\"1", "tok-a", at(t0));
    t.record("r\"1", "tok-b", at(t0));
    t.record("r\"1", "tok-b", at(t0 + 86400));
    const std::string a = credential_fingerprint("tok-a"), b = credential_fingerprint("tok-b");
    const std::string json = render_migration_json(t.snapshot());
    const std::string expected =
        R"({"routes":[{"rule":"r\"1","clients":[{"fingerprint":")" + b +
        R"(","calls":2,"first_seen":"2026-11-23T10:15:07Z","last_seen":"2026-11-24T10:15:07Z","calls_per_day":{"2026-11-23":1,"2026-11-24":1}},{"fingerprint":")" +
        a +
        R"(","calls":1,"first_seen":"2026-11-23T10:15:07Z","last_seen":"2026-11-23T10:15:07Z","calls_per_day":{"2026-11-23":1}}]}]})";
    EXPECT_EQ(json, expected);
    EXPECT_TRUE(check_json_value(json).ok);
}

TEST(Migration, JsonEmpty) {
    EXPECT_EQ(render_migration_json(migration_snapshot{}), R"({"routes":[]})");
}

TEST(Migration, HtmlEmptyState) {
    const std::string html = render_migration_html(migration_snapshot{}, at(t0));
    EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
    EXPECT_NE(html.find("<title>"), std::string::npos);
    EXPECT_NE(html.find("No client has called a deprecated route since start."), std::string::npos);
    EXPECT_NE(html.find("Generated 2026-11-23 10:15:07 UTC"), std::string::npos);
    EXPECT_EQ(html.find("<table"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(Migration, HtmlTablePerRouteWithDaysAndEscaping) {
    migration_tracker t;
    t.record("<b>evil&rule</b>", "tok-a", at(t0));
    t.record("<b>evil&rule</b>", "tok-a", at(t0 - 86400));
    t.record("<b>evil&rule</b>", "tok-a", at(t0 - 30 * 86400));  // before the window
    t.record("plain_rule", "tok-b", at(t0));
    const std::string html = render_migration_html(t.snapshot(), at(t0));
    EXPECT_EQ(html.find("<b>evil"), std::string::npos);
    EXPECT_NE(html.find("&lt;b&gt;evil&amp;rule&lt;/b&gt;"), std::string::npos);
    EXPECT_EQ(count(html, "<table>"), 2u);
    EXPECT_EQ(count(html, "<section>"), 2u);
    EXPECT_NE(html.find(credential_fingerprint("tok-a")), std::string::npos);
    EXPECT_NE(html.find(credential_fingerprint("tok-b")), std::string::npos);
    EXPECT_EQ(html.find("tok-a"), std::string::npos);
    // 14 day columns per table, ending today, after an "earlier" one.
    EXPECT_EQ(count(html, "<th class=\"day\" title="), 2u * (html_days + 1));
    EXPECT_NE(html.find("<th class=\"day\" title=\"before 2026-11-10\">earlier</th>"),
              std::string::npos);
    EXPECT_NE(html.find("title=\"2026-11-23\">11-23</th></tr>"), std::string::npos);
    EXPECT_NE(html.find("title=\"2026-11-10\">11-10</th>"), std::string::npos);
    EXPECT_EQ(html.find("title=\"2026-11-09\""), std::string::npos);
    // tok-a: 3 calls, 1 earlier than the window, one yesterday, one today.
    EXPECT_NE(html.find("<td class=\"total\">3</td><td>2026-10-24 10:15:07</td>"
                        "<td>2026-11-23 10:15:07</td><td>1</td>"),
              std::string::npos)
        << html;
    EXPECT_NE(html.find("<td class=\"n\">1</td><td class=\"n\">1</td></tr>"), std::string::npos);
    EXPECT_NE(html.find("2 clients</strong> still call <strong>2 deprecated routes"),
              std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("http://"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_TRUE(html.ends_with("</html>\n"));
}

TEST(Migration, BoundsTheNumberOfClients) {
    migration_tracker t;
    for (std::size_t i = 0; i < migration_tracker::max_clients + 5; ++i)
        t.record("r", "tok-" + std::to_string(i), at(t0));
    const auto& c = t.snapshot().clients;
    EXPECT_EQ(c.size(), migration_tracker::max_clients + 1);
    EXPECT_EQ(c.at({"r", "other"}).calls, 5u);
}

}  // namespace
}  // namespace shimgate
