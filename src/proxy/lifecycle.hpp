#pragma once
// The retirement schedule of a deprecated route (contract §6.1): where a request's arrival time
// falls (open, inside a dated brownout window, or past the sunset), the 410 such a call gets
// (naming the successor and the sunset date), and the schedule as --check-rules prints it. Pure
// functions over the rule and a time.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

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

// One step of a deprecated rule's schedule and where `now` is relative to it. The deprecation date
// and the sunset are instants (end == start): past from that instant on. A brownout window is
// [start, end): running inside it.
enum class schedule_step_kind { deprecation, brownout, sunset };
enum class schedule_when { past, running, to_come };
std::string_view to_string(schedule_when w) noexcept;  // "past", "running", "to come"

struct schedule_step {
    schedule_step_kind kind = schedule_step_kind::deprecation;
    std::int64_t start_unix = 0;
    std::int64_t end_unix = 0;  // == start_unix but for a brownout
    schedule_when when = schedule_when::to_come;
};

// The schedule of `d` in time order (deprecation, each brownout window, sunset if set) at `now`;
// empty if the rule is not deprecated. describe_schedule and /migration both show this.
std::vector<schedule_step> schedule_at(const deprecation_rule& d,
                                       std::chrono::system_clock::time_point now);

// --check-rules: the schedule of a deprecated rule in time order (deprecation, each brownout
// window, sunset), each with "past", "running" or "to come" at `now`; one line each, indented.
std::string describe_schedule(const rule& r, std::chrono::system_clock::time_point now);

}  // namespace shimgate
