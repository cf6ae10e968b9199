#pragma once
// Process log on stderr, one line per event, as text or JSON (--log-format). Used for start-up,
// reloads, drains and upstream failures; never for per-request data (that is the access log).
#include <string_view>

namespace shimgate {

enum class log_format { text, json };

void set_log_format(log_format f);
void log_info(std::string_view message);
void log_error(std::string_view message);

}  // namespace shimgate
