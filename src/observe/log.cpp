// The process log: one line per event on stderr, as text or JSON, written whole under a lock.
#include "observe/log.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

#include "common/rfc3339.hpp"
#include "json/json_writer.hpp"

namespace shimgate {
namespace {

log_format format_ = log_format::text;
std::mutex mutex_;  // log lines are rare (start, reload, failures); a lock keeps them whole

// "2026-11-23T10:15:07.123Z"
std::string timestamp() {
    using namespace std::chrono;
    const auto now = time_point_cast<milliseconds>(system_clock::now());
    const sys_seconds second = floor<seconds>(now);
    std::string text = format_rfc3339_utc(second);
    char millis[8];
    std::snprintf(millis, sizeof millis, ".%03d", static_cast<int>((now - second).count()));
    text.insert(text.size() - 1, millis);  // before the 'Z'
    return text;
}

void write(std::string_view level, std::string_view message) {
    std::string line;
    if (format_ == log_format::json) {
        line =
            "{\"time\":\"" + timestamp() + "\",\"level\":\"" + std::string(level) + "\",\"msg\":";
        // The shim's one escaper: a message may quote client bytes (a path, a header) that are
        // not valid UTF-8; they become U+FFFD, so the line is valid JSON whatever they hold.
        append_json_string(line, message);
        line += "}\n";
    } else {
        line = timestamp() + " " + std::string(level) + " " + std::string(message) + "\n";
    }
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace

void set_log_format(log_format f) {
    format_ = f;
}
void log_info(std::string_view message) {
    write("info", message);
}
void log_error(std::string_view message) {
    write("error", message);
}

}  // namespace shimgate
