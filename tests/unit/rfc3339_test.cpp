// common/rfc3339: the one RFC 3339 reader at its edges (calendar, leap seconds, offsets,
// fractions, case, lengths), the instant it gives, and the date writers. The callers' policies
// (client values accept second 60, rule dates refuse it) are checked through the callers in
// request_transform_test and rule_loader_test.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "common/rfc3339.hpp"

namespace shimgate {
namespace {

using namespace std::chrono;

bool date_ok(std::string_view s) {
    return parse_rfc3339(s, rfc3339_form::full_date).has_value();
}
bool date_time_ok(std::string_view s) {
    return parse_rfc3339(s, rfc3339_form::date_time).has_value();
}
std::int64_t unix_of(std::string_view s) {
    const auto t = parse_rfc3339(s, rfc3339_form::date_or_date_time);
    EXPECT_TRUE(t) << s;
    return t ? t->instant().time_since_epoch().count() : -1;
}

TEST(Rfc3339, FebruaryTwentyNinth) {
    EXPECT_TRUE(date_ok("2024-02-29"));   // leap year
    EXPECT_FALSE(date_ok("2023-02-29"));  // not one
    EXPECT_TRUE(date_ok("2000-02-29"));   // century divisible by 400
    EXPECT_FALSE(date_ok("1900-02-29"));  // century that is not
    EXPECT_FALSE(date_ok("2100-02-29"));
    EXPECT_FALSE(date_ok("2024-02-30"));
    EXPECT_TRUE(date_ok("2023-02-28"));
}

TEST(Rfc3339, CalendarLimits) {
    EXPECT_TRUE(date_ok("2024-01-31"));
    EXPECT_FALSE(date_ok("2024-04-31"));
    EXPECT_TRUE(date_ok("2024-12-31"));
    EXPECT_FALSE(date_ok("2024-13-01"));
    EXPECT_FALSE(date_ok("2024-00-10"));
    EXPECT_FALSE(date_ok("2024-01-00"));
    EXPECT_FALSE(date_ok("2024-01-32"));
    EXPECT_TRUE(date_ok("0000-01-01"));  // the grammar's year range, 0000-9999
    EXPECT_TRUE(date_ok("9999-12-31"));
}

TEST(Rfc3339, Lengths) {
    EXPECT_FALSE(date_ok(""));
    EXPECT_FALSE(date_ok("2024-1-01"));
    EXPECT_FALSE(date_ok("2024-01-1"));
    EXPECT_FALSE(date_ok("24-01-01"));
    EXPECT_FALSE(date_ok("2024-01-010"));
    EXPECT_FALSE(date_ok("2024/01/01"));
    EXPECT_FALSE(date_ok("2024-01-01T00:00:00Z"));  // a date-time is not a full-date
    EXPECT_FALSE(date_ok("+024-01-01"));
    EXPECT_FALSE(date_ok(" 2024-01-01"));
    EXPECT_FALSE(date_time_ok("2024-01-01"));           // nor a full-date a date-time
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00"));  // no offset
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00Z"));
    EXPECT_FALSE(date_time_ok("2024-01-01T0:00:00Z"));
    EXPECT_FALSE(date_time_ok("2024-01-01 00:00:00Z"));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00Z "));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00ZZ"));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00+01"));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00+0100"));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00+01:000"));
    EXPECT_FALSE(date_time_ok(std::string_view("2024-01-01T00:00:00Z\0", 21)));
    EXPECT_TRUE(date_time_ok("2024-01-01T00:00:00Z"));
}

TEST(Rfc3339, TimeOfDay) {
    EXPECT_TRUE(date_time_ok("2024-01-01T23:59:59Z"));
    EXPECT_FALSE(date_time_ok("2024-01-01T24:00:00Z"));
    EXPECT_FALSE(date_time_ok("2024-01-01T23:60:00Z"));
    EXPECT_FALSE(date_time_ok("2024-01-01T23:59:61Z"));
    EXPECT_FALSE(date_time_ok("2024-01-01T2a:00:00Z"));
    EXPECT_FALSE(date_time_ok("2024-02-30T00:00:00Z"));  // the date is checked too
}

TEST(Rfc3339, LeapSecondIsParsedAndReported) {
    const auto t = parse_rfc3339("2016-12-31T23:59:60Z", rfc3339_form::date_time);
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->leap_second());
    EXPECT_EQ(t->second, seconds{60});
    // POSIX time has no room for it: it is the first second of the next day.
    EXPECT_EQ(t->instant(), sys_days{2017y / January / 1});
    const auto plain = parse_rfc3339("2016-12-31T23:59:59Z", rfc3339_form::date_time);
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->leap_second());
    // The grammar allows 60 in any minute (RFC 3339 §5.7 leaves the check to a leap-second table).
    EXPECT_TRUE(date_time_ok("2024-06-15T12:30:60+02:00"));
}

TEST(Rfc3339, Offsets) {
    EXPECT_EQ(unix_of("2024-01-01T00:30:00Z"), 1704067200 + 30 * 60);
    EXPECT_EQ(unix_of("2024-01-01T02:30:00+02:00"), 1704067200 + 30 * 60);
    EXPECT_EQ(unix_of("2023-12-31T22:30:00-02:00"), 1704067200 + 30 * 60);
    EXPECT_EQ(unix_of("2024-01-01T00:30:00+00:00"), 1704067200 + 30 * 60);
    EXPECT_EQ(unix_of("2024-01-01T00:30:00-00:00"),
              1704067200 + 30 * 60);  // "unknown local offset"
    EXPECT_TRUE(date_time_ok("2024-01-01T00:00:00+23:59"));
    EXPECT_TRUE(date_time_ok("2024-01-01T00:00:00-23:59"));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00+24:00"));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00+01:60"));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00+01-00"));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00*01:00"));
    const auto t = parse_rfc3339("2024-01-01T00:00:00-05:30", rfc3339_form::date_time);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->utc_offset, minutes{-330});
}

TEST(Rfc3339, Fractions) {
    EXPECT_TRUE(date_time_ok("2024-01-01T00:00:00.5Z"));
    EXPECT_TRUE(date_time_ok("2024-01-01T00:00:00.123456789+01:00"));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00.Z"));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00."));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00.5"));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00,5Z"));
    // Not kept: the instant is to the second.
    EXPECT_EQ(unix_of("2024-01-01T00:00:00.999Z"), 1704067200);
}

TEST(Rfc3339, LowerCaseSeparators) {
    EXPECT_TRUE(date_time_ok("2024-01-01t00:00:00z"));
    EXPECT_TRUE(date_time_ok("2024-01-01t00:00:00+01:00"));
    EXPECT_FALSE(date_time_ok("2024-01-01x00:00:00Z"));
    EXPECT_FALSE(date_time_ok("2024-01-01T00:00:00x"));
}

TEST(Rfc3339, BareDateIsMidnightUtc) {
    const auto t = parse_rfc3339("2024-01-01", rfc3339_form::date_or_date_time);
    ASSERT_TRUE(t);
    EXPECT_FALSE(t->has_time);
    EXPECT_EQ(t->instant().time_since_epoch().count(), 1704067200);
    EXPECT_EQ(unix_of("1970-01-01"), 0);
    EXPECT_EQ(unix_of("1969-12-31T23:59:59Z"), -1);
}

TEST(Rfc3339, Writers) {
    // 2026-11-23T10:15:07Z
    const sys_seconds t0{seconds{1795428907}};
    EXPECT_EQ(format_rfc3339_date(floor<days>(t0)), "2026-11-23");
    EXPECT_EQ(format_rfc3339_utc(t0), "2026-11-23T10:15:07Z");
    EXPECT_EQ(format_rfc3339_utc(sys_seconds{}), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_rfc3339_date(floor<days>(t0 - hours{10} - minutes{15} - seconds{8})),
              "2026-11-22");  // one second before midnight
    EXPECT_EQ(format_rfc3339_utc(sys_seconds{seconds{-1}}), "1969-12-31T23:59:59Z");
    EXPECT_EQ(format_imf_fixdate(sys_days{2027y / June / 30}), "Wed, 30 Jun 2027 00:00:00 GMT");
    EXPECT_EQ(format_imf_fixdate(sys_seconds{seconds{0}}), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(
        format_imf_fixdate(sys_days{2024y / February / 29} + hours{23} + minutes{59} + seconds{59}),
        "Thu, 29 Feb 2024 23:59:59 GMT");
    // Round trip through the reader.
    EXPECT_EQ(unix_of(format_rfc3339_utc(t0)), t0.time_since_epoch().count());
}

}  // namespace
}  // namespace shimgate
