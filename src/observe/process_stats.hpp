#pragma once
// The standard process_* series of a Prometheus exporter (start time, CPU seconds, resident
// memory, open and max file descriptors), read from /proc at scrape time on the admin thread,
// never on the request path. The parsing is pure and unit-tested; read_process_stats does the I/O.
#include <cstdint>
#include <optional>
#include <string_view>

namespace shimgate {

struct process_stats {
    bool valid = false;             // false: /proc could not be read; the series are left out
    double start_time_seconds = 0;  // since the Unix epoch
    double cpu_seconds = 0;         // user + system
    std::uint64_t resident_memory_bytes = 0;
    std::uint64_t open_fds = 0;
    std::uint64_t max_fds = 0;  // the soft RLIMIT_NOFILE
};

// What /proc/<pid>/stat says, in its own units (clock ticks, pages).
struct proc_stat_fields {
    std::uint64_t utime_ticks = 0, stime_ticks = 0, start_ticks = 0, rss_pages = 0;
};
// Fields 14, 15, 22 and 24 of a /proc/<pid>/stat line (counted after the command name, which may
// hold spaces and parentheses: the last ')' ends it). nullopt if the line is not one.
std::optional<proc_stat_fields> parse_proc_stat(std::string_view line) noexcept;
// The "btime N" line of /proc/stat: boot time, seconds since the epoch.
std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat) noexcept;

process_stats read_process_stats();

}  // namespace shimgate
