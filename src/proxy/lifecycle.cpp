#include "proxy/lifecycle.hpp"

#include "common/rfc3339.hpp"

namespace shimgate {

namespace {

using clock = std::chrono::system_clock;

clock::time_point at(std::int64_t unix_seconds) {
    return clock::time_point{std::chrono::seconds{unix_seconds}};
}

std::string utc(std::int64_t unix_seconds) {
    return format_rfc3339_utc(std::chrono::sys_seconds{std::chrono::seconds{unix_seconds}});
}

// "; use /api/update_customer/ instead" when the rule names a successor.
std::string successor_hint(const deprecation_rule& d) {
    return d.successor.empty() ? std::string() : "; use " + d.successor + " instead";
}

const char* when(clock::time_point now, clock::time_point start, clock::time_point end) {
    if (now < start) return "to come";
    return now < end ? "running" : "past";
}

}  // namespace

lifecycle_state lifecycle_at(const deprecation_rule& d, clock::time_point arrival) noexcept {
    if (!d.enabled) return {};
    if (d.sunset_unix && d.after_sunset == after_sunset_policy::refuse &&
        arrival >= at(*d.sunset_unix))
        return {route_phase::retired, nullptr};
    for (const brownout_window& w : d.brownouts) {
        if (arrival < at(w.start_unix)) break;  // in time order: none of the rest has begun
        if (arrival < at(w.end_unix)) return {route_phase::brownout, &w};
    }
    return {};
}

refusal gone_refusal(const deprecation_rule& d, const lifecycle_state& state) {
    std::string message;
    if (state.phase == route_phase::brownout && state.window) {
        message =
            "this route is deprecated: scheduled brownout until " + utc(state.window->end_unix);
        if (d.sunset_unix) message += ", retired on " + utc(*d.sunset_unix);
    } else {
        message = "this route was retired";
        if (d.sunset_unix) message += " on " + utc(*d.sunset_unix);
    }
    message += successor_hint(d);
    return refusal{410, std::move(message), refusal_reason::gone};
}

std::string describe_schedule(const rule& r, clock::time_point now) {
    const deprecation_rule& d = r.deprecation;
    if (!d.enabled) return {};
    std::string out = "  " + r.name + " (" + r.file + ")\n";
    const clock::time_point deprecated = at(d.deprecation_unix);
    out += "    deprecation " + utc(d.deprecation_unix) + "  " +
           (now < deprecated ? "to come" : "past") + "\n";
    for (const brownout_window& w : d.brownouts) {
        out += "    brownout    " + utc(w.start_unix) + " .. " + utc(w.end_unix) + "  " +
               when(now, at(w.start_unix), at(w.end_unix)) + "\n";
    }
    if (d.sunset_unix) {
        const bool past = now >= at(*d.sunset_unix);
        out += "    sunset      " + utc(*d.sunset_unix) + "  " + (past ? "past" : "to come") +
               (d.after_sunset == after_sunset_policy::refuse ? "  (then refused: 410)"
                                                              : "  (then still served)") +
               "\n";
    }
    return out;
}

}  // namespace shimgate
