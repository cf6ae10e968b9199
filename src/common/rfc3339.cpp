// The one RFC 3339 reader and the date writers, on <chrono>'s calendar (year_month_day checks
// month lengths and leap years; sys_days counts the days).
#include "common/rfc3339.hpp"

#include <cstdio>

namespace shimgate {
namespace {

// p[0, n) as a number, -1 if any is not a digit. The caller has checked the length.
int digits(const char* p, int n) noexcept {
    int v = 0;
    for (int i = 0; i < n; ++i) {
        const unsigned d = static_cast<unsigned char>(p[i]) - unsigned{'0'};
        if (d > 9) return -1;
        v = v * 10 + static_cast<int>(d);
    }
    return v;
}

}  // namespace

std::optional<rfc3339_time> parse_rfc3339(std::string_view text, rfc3339_form form) noexcept {
    using namespace std::chrono;
    // full-date = date-fullyear "-" date-month "-" date-mday
    if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    const char* p = text.data();
    const int y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
    if (y < 0 || mo < 0 || d < 0) return std::nullopt;
    rfc3339_time t;
    t.date = year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)};
    if (!t.date.ok()) return std::nullopt;
    if (text.size() == 10) {
        if (form == rfc3339_form::date_time) return std::nullopt;
        return t;
    }
    if (form == rfc3339_form::full_date) return std::nullopt;

    // "T" partial-time time-offset; the shortest is "T00:00:00Z" (20 bytes in all).
    if (text.size() < 20 || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
        text[16] != ':')
        return std::nullopt;
    const int h = digits(p + 11, 2), mi = digits(p + 14, 2), s = digits(p + 17, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return std::nullopt;
    t.has_time = true;
    t.hour = hours{h};
    t.minute = minutes{mi};
    t.second = seconds{s};
    std::size_t i = 19;
    if (text[i] == '.') {  // time-secfrac: at least one digit
        const std::size_t first = ++i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        if (i == first) return std::nullopt;
    }
    if (i == text.size()) return std::nullopt;
    if (text[i] == 'Z' || text[i] == 'z') {
        if (i + 1 != text.size()) return std::nullopt;
        return t;
    }
    if ((text[i] != '+' && text[i] != '-') || text.size() - i != 6 || text[i + 3] != ':')
        return std::nullopt;
    const int oh = digits(p + i + 1, 2), om = digits(p + i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return std::nullopt;
    t.utc_offset = minutes{(text[i] == '-' ? -1 : 1) * (oh * 60 + om)};
    return t;
}

std::string format_rfc3339_date(std::chrono::sys_days day) {
    const std::chrono::year_month_day ymd{day};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return buf;
}

std::string format_rfc3339_utc(std::chrono::sys_seconds t) {
    using namespace std::chrono;
    const sys_days day = floor<days>(t);
    const hh_mm_ss<seconds> tod{t - day};
    char buf[16];
    std::snprintf(buf, sizeof buf, "T%02d:%02d:%02dZ", static_cast<int>(tod.hours().count()),
                  static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()));
    return format_rfc3339_date(day) + buf;
}

std::string format_imf_fixdate(std::chrono::sys_seconds t) {
    using namespace std::chrono;
    static constexpr const char* week[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const sys_days day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss<seconds> tod{t - day};
    char buf[48];
    std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT",
                  week[weekday{day}.c_encoding()], static_cast<unsigned>(ymd.day()),
                  months[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                  static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                  static_cast<int>(tod.seconds().count()));
    return buf;
}

}  // namespace shimgate
