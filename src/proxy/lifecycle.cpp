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

schedule_when when(clock::time_point now, clock::time_point start, clock::time_point end) {
    if (now < start) return schedule_when::to_come;
    return now < end ? schedule_when::running : schedule_when::past;
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

std::string_view to_string(schedule_when w) noexcept {
    switch (w) {
        case schedule_when::past:
            return "past";
        case schedule_when::running:
            return "running";
        case schedule_when::to_come:
            break;
    }
    return "to come";
}

std::vector<schedule_step> schedule_at(const deprecation_rule& d, clock::time_point now) {
    std::vector<schedule_step> steps;
    if (!d.enabled) return steps;
    steps.reserve(d.brownouts.size() + 2);
    // An instant is past from itself on; it never runs.
    auto instant = [&](schedule_step_kind kind, std::int64_t t) {
        steps.push_back({kind, t, t, now < at(t) ? schedule_when::to_come : schedule_when::past});
    };
    instant(schedule_step_kind::deprecation, d.deprecation_unix);
    for (const brownout_window& w : d.brownouts) {
        steps.push_back({schedule_step_kind::brownout, w.start_unix, w.end_unix,
                         when(now, at(w.start_unix), at(w.end_unix))});
    }
    if (d.sunset_unix) instant(schedule_step_kind::sunset, *d.sunset_unix);
    return steps;
}

std::string describe_schedule(const rule& r, clock::time_point now) {
    const deprecation_rule& d = r.deprecation;
    if (!d.enabled) return {};
    std::string out = "  " + r.name + " (" + r.file + ")\n";
    for (const schedule_step& s : schedule_at(d, now)) {
        const std::string when_text(to_string(s.when));
        switch (s.kind) {
            case schedule_step_kind::deprecation:
                out += "    deprecation " + utc(s.start_unix) + "  " + when_text + "\n";
                break;
            case schedule_step_kind::brownout:
                out += "    brownout    " + utc(s.start_unix) + " .. " + utc(s.end_unix) + "  " +
                       when_text + "\n";
                break;
            case schedule_step_kind::sunset:
                out += "    sunset      " + utc(s.start_unix) + "  " + when_text +
                       (d.after_sunset == after_sunset_policy::refuse ? "  (then refused: 410)"
                                                                      : "  (then still served)") +
                       "\n";
                break;
        }
    }
    return out;
}

}  // namespace shimgate
