#pragma once
// The retirement schedule of a deprecated route (contract §6.1): where a request's arrival time
// falls (open, inside a dated brownout window, or past the sunset), the 410 such a call gets
// (naming the successor and the sunset date), and the schedule as --check-rules prints it. Pure
// functions over the rule and a time.
#include <chrono>
#include <string>

#include "config/rule_set.hpp"
#include "proxy/refusal.hpp"

namespace shimgate {

enum class route_phase { open, brownout, retired };

struct lifecycle_state {
    route_phase phase = route_phase::open;
    const brownout_window* window = nullptr;  // the running window, in a brownout
};

// Where `arrival` falls in `d`'s schedule. A window is [start, start + duration); the sunset
// instant itself is past it (when the rule refuses after the sunset). A rule without deprecation
// is always open.
lifecycle_state lifecycle_at(const deprecation_rule& d,
                             std::chrono::system_clock::time_point arrival) noexcept;

// The 410 of a call in a brownout or past the sunset: what happened, until when (a brownout),
// the sunset date and the successor to call instead. Reason `gone`.
refusal gone_refusal(const deprecation_rule& d, const lifecycle_state& state);

// --check-rules: the schedule of a deprecated rule in time order (deprecation, each brownout
// window, sunset), each with "past", "running" or "to come" at `now`; one line each, indented.
std::string describe_schedule(const rule& r, std::chrono::system_clock::time_point now);

}  // namespace shimgate
