#pragma once
// RFC 3339 dates and times, read once for every caller: client values checked on the request
// path (date and date-time fields) and the dates of rule files. The parser takes the grammar
// (§5.6, with the §5.6 note: "T" and "Z" may be lower case) and real calendar dates; policy is
// the caller's: whether a leap second (second 60) or a year before some epoch is acceptable.
// Also the text forms the shim writes: RFC 3339 in UTC, and the HTTP IMF-fixdate.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace shimgate {

// What parse_rfc3339 accepts.
enum class rfc3339_form {
    full_date,          // "2027-06-30"
    date_time,          // "2027-06-30T12:00:00Z", "2027-06-30t12:00:00.5+02:00"
    date_or_date_time,  // either (a bare date meaning midnight UTC)
};

struct rfc3339_time {
    std::chrono::year_month_day date;    // always ok(); year 0000-9999
    bool has_time = false;               // false: a full-date alone (the rest is zero)
    std::chrono::hours hour{0};          // 0-23
    std::chrono::minutes minute{0};      // 0-59
    std::chrono::seconds second{0};      // 0-60 (60: a leap second, see leap_second())
    std::chrono::minutes utc_offset{0};  // local time minus UTC, -23:59 to +23:59
    // (fractions of a second are checked but not kept: no caller needs them)

    // Second 60: RFC 3339 allows it (§5.7), but it does not say whether that minute had one.
    bool leap_second() const noexcept { return second == std::chrono::seconds{60}; }
    // The instant in UTC. A leap second counts as the first second of the next minute (POSIX
    // time has no room for it).
    std::chrono::sys_seconds instant() const noexcept {
        return std::chrono::sys_days{date} + hour + minute + second - utc_offset;
    }
};

// The whole of `text` as an RFC 3339 date and/or time in `form`, nullopt if it is not one (bad
// grammar, an impossible date such as 2023-02-29, hour 24, minute 60, second above 60, an offset
// hour above 23).
std::optional<rfc3339_time> parse_rfc3339(std::string_view text, rfc3339_form form) noexcept;

// "2026-11-23" and "2026-11-23T10:15:07Z": `t` in UTC, to the second (years 0000-9999).
std::string format_rfc3339_date(std::chrono::sys_days day);
std::string format_rfc3339_utc(std::chrono::sys_seconds t);

// RFC 9110 §5.6.7 IMF-fixdate, "Wed, 30 Jun 2027 00:00:00 GMT" (years 0000-9999).
std::string format_imf_fixdate(std::chrono::sys_seconds t);

}  // namespace shimgate
