#pragma once
// The /metrics answer: a metrics_snapshot in the Prometheus text exposition format 0.0.4
// (Content-Type: text/plain; version=0.0.4; charset=utf-8). Pure functions.
#include <string>
#include <string_view>

#include "observe/metrics.hpp"

namespace shimgate {

// Every family with its HELP and TYPE lines, in a fixed order; samples of a family in a fixed
// order too (requests by rule, dialect, status; refusals by reason), so two renders of the same
// snapshot are byte-identical. Pass-through requests (rule "") show as rule="pass-through".
std::string render_prometheus(const metrics_snapshot& s);

// Appends `value` escaped for a label value: backslash, double quote and line feed.
void append_prometheus_label_value(std::string& out, std::string_view value);

}  // namespace shimgate
