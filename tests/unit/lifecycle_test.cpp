// The retirement schedule at its edges: a window's first and last instant, the sunset instant,
// the 410's words, and what --check-rules prints.
#include "proxy/lifecycle.hpp"

#include <gtest/gtest.h>

namespace shimgate {
namespace {

using clock = std::chrono::system_clock;
using namespace std::chrono_literals;

clock::time_point at(std::int64_t unix_seconds) {
    return clock::time_point{std::chrono::seconds{unix_seconds}};
}

deprecation_rule schedule() {
    deprecation_rule d;
    d.enabled = true;
    d.deprecation_unix = 1704067200;  // 2024-01-01
    d.sunset_unix = 1814313600;       // 2027-06-30T00:00:00Z
    d.successor = "/api/update_customer/";
    d.brownouts = {{1809439200, 1809439200 + 12 * 3600},  // 2027-05-04T14:00Z, 12 h
                   {1811858400, 1811858400 + 86400}};     // 2027-06-01T14:00Z, 1 d
    return d;
}

TEST(Lifecycle, WindowsAreHalfOpenToTheNanosecond) {
    const deprecation_rule d = schedule();
    const brownout_window& w = d.brownouts[0];
    EXPECT_EQ(lifecycle_at(d, at(w.start_unix) - 1ns).phase, route_phase::open);
    const lifecycle_state first = lifecycle_at(d, at(w.start_unix));
    EXPECT_EQ(first.phase, route_phase::brownout);
    EXPECT_EQ(first.window, &w);
    EXPECT_EQ(lifecycle_at(d, at(w.end_unix) - 1ns).phase, route_phase::brownout);
    EXPECT_EQ(lifecycle_at(d, at(w.end_unix)).phase, route_phase::open);
    const lifecycle_state second = lifecycle_at(d, at(d.brownouts[1].start_unix) + 3h);
    EXPECT_EQ(second.phase, route_phase::brownout);
    EXPECT_EQ(second.window, &d.brownouts[1]);
    EXPECT_EQ(lifecycle_at(d, at(d.deprecation_unix)).phase, route_phase::open);
}

TEST(Lifecycle, SunsetInstantIsRetiredUnlessTheRuleServes) {
    deprecation_rule d = schedule();
    EXPECT_EQ(lifecycle_at(d, at(*d.sunset_unix) - 1ns).phase, route_phase::open);
    EXPECT_EQ(lifecycle_at(d, at(*d.sunset_unix)).phase, route_phase::retired);
    EXPECT_EQ(lifecycle_at(d, at(*d.sunset_unix) + 24h * 400).phase, route_phase::retired);
    d.after_sunset = after_sunset_policy::serve;
    EXPECT_EQ(lifecycle_at(d, at(*d.sunset_unix) + 1s).phase, route_phase::open);
    d.sunset_unix.reset();  // no sunset: never retired
    d.after_sunset = after_sunset_policy::refuse;
    EXPECT_EQ(lifecycle_at(d, at(4000000000)).phase, route_phase::open);
    EXPECT_EQ(lifecycle_at(deprecation_rule{}, at(*schedule().sunset_unix)).phase,
              route_phase::open);  // not deprecated at all
}

TEST(Lifecycle, GoneNamesTheSuccessorTheSunsetAndTheBrownout) {
    const deprecation_rule d = schedule();
    const refusal retired = gone_refusal(d, lifecycle_at(d, at(*d.sunset_unix)));
    EXPECT_EQ(retired.status, 410u);
    EXPECT_EQ(retired.reason, refusal_reason::gone);
    EXPECT_EQ(retired.message,
              "this route was retired on 2027-06-30T00:00:00Z; use /api/update_customer/ instead");
    const refusal brownout = gone_refusal(d, lifecycle_at(d, at(d.brownouts[0].start_unix)));
    EXPECT_EQ(brownout.status, 410u);
    EXPECT_EQ(brownout.message,
              "this route is deprecated: scheduled brownout until 2027-05-05T02:00:00Z, retired "
              "on 2027-06-30T00:00:00Z; use /api/update_customer/ instead");
}

TEST(Lifecycle, ScheduleSaysPastRunningOrToCome) {
    rule r;
    r.name = "explo-update-user-group";
    r.file = "explo.json";
    r.deprecation = schedule();
    const std::string text = describe_schedule(r, at(r.deprecation.brownouts[0].start_unix) + 1h);
    EXPECT_EQ(text,
              "  explo-update-user-group (explo.json)\n"
              "    deprecation 2024-01-01T00:00:00Z  past\n"
              "    brownout    2027-05-04T14:00:00Z .. 2027-05-05T02:00:00Z  running\n"
              "    brownout    2027-06-01T14:00:00Z .. 2027-06-02T14:00:00Z  to come\n"
              "    sunset      2027-06-30T00:00:00Z  to come  (then refused: 410)\n");
    EXPECT_EQ(describe_schedule(rule{}, clock::now()), "");
}

}  // namespace
}  // namespace shimgate
