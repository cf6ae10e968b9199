// Reading this process's figures from /proc (Linux), as the Prometheus client libraries do.
#include "observe/process_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <fstream>
#include <iterator>
#include <string>

namespace shimgate {
namespace {

bool to_u64(std::string_view s, std::uint64_t& out) noexcept {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

std::string read_whole(const char* path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace

std::optional<proc_stat_fields> parse_proc_stat(std::string_view line) noexcept {
    const std::size_t close = line.rfind(')');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view rest = line.substr(close + 1);
    // rest holds fields 3 ("state") onwards, separated by single spaces.
    std::array<std::string_view, 22> fields{};  // fields 3..24
    std::size_t n = 0;
    while (n < fields.size()) {
        const std::size_t start = rest.find_first_not_of(" \n");
        if (start == std::string_view::npos) break;
        rest.remove_prefix(start);
        const std::size_t end = rest.find_first_of(" \n");
        fields[n++] = rest.substr(0, end);
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end);
    }
    if (n < fields.size()) return std::nullopt;
    proc_stat_fields f;
    auto field = [&](std::size_t number) { return fields[number - 3]; };
    if (!to_u64(field(14), f.utime_ticks) || !to_u64(field(15), f.stime_ticks) ||
        !to_u64(field(22), f.start_ticks))
        return std::nullopt;
    // rss is signed in the kernel's format; a negative one does not occur for a live process.
    if (!to_u64(field(24), f.rss_pages)) return std::nullopt;
    return f;
}

std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat) noexcept {
    std::size_t at = 0;
    while (at < proc_stat.size()) {
        std::size_t end = proc_stat.find('\n', at);
        if (end == std::string_view::npos) end = proc_stat.size();
        std::string_view line = proc_stat.substr(at, end - at);
        if (line.starts_with("btime ")) {
            std::uint64_t v = 0;
            if (to_u64(line.substr(6), v)) return v;
            return std::nullopt;
        }
        at = end + 1;
    }
    return std::nullopt;
}

process_stats read_process_stats() {
    process_stats s;
    const auto fields = parse_proc_stat(read_whole("/proc/self/stat"));
    const auto boot = parse_boot_time(read_whole("/proc/stat"));
    const long ticks = ::sysconf(_SC_CLK_TCK);
    const long page = ::sysconf(_SC_PAGESIZE);
    if (!fields || !boot || ticks <= 0 || page <= 0) return s;
    const auto tick = static_cast<double>(ticks);
    s.cpu_seconds = static_cast<double>(fields->utime_ticks + fields->stime_ticks) / tick;
    s.start_time_seconds =
        static_cast<double>(*boot) + static_cast<double>(fields->start_ticks) / tick;
    s.resident_memory_bytes = fields->rss_pages * static_cast<std::uint64_t>(page);
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (const dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++s.open_fds;
        ::closedir(d);
        if (s.open_fds > 0) --s.open_fds;  // the directory's own descriptor
    }
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) s.max_fds = lim.rlim_cur;
    s.valid = true;
    return s;
}

}  // namespace shimgate
