#include "observe/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "json/json_writer.hpp"

namespace shimgate {
namespace {

log_format format_ = log_format::text;
std::mutex mutex_;  // log lines are rare (start, reload, failures); a lock keeps them whole

std::string timestamp() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
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
