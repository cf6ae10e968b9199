// The access log. A line is built on the request path by append_access_record (to_chars, a cached
// per-second time prefix, one reserve); buffers of lines reach the writer thread through a short
// critical section that only swaps strings, and the writer does every write(2) and reopen.
#include "observe/access_log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>
#include <utility>

#include "json/json_writer.hpp"
#include "observe/log.hpp"

namespace shimgate {
namespace {

constexpr std::size_t max_path_bytes = 1024;
constexpr std::size_t max_header_bytes = 256;  // Host, User-Agent
constexpr std::size_t max_short_bytes = 64;    // addresses, trace ids, codes
constexpr std::size_t max_id_bytes = 128;      // request ids (choose_request_id keeps up to 128)
constexpr std::size_t max_queued_bytes = std::size_t{64} << 20;
constexpr std::size_t max_spares = 256;                           // buffers kept for reuse
constexpr std::size_t max_spare_capacity = std::size_t{4} << 20;  // larger ones are freed

// "YYYY-MM-DDTHH:MM:SS." for one second; a request path formats the same second again and again.
struct time_prefix {
    std::int64_t second = INT64_MIN;
    char text[20] = {};
};

void put2(char* p, unsigned v) noexcept {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
}

void fill_time_prefix(time_prefix& t, std::int64_t second) noexcept {
    using namespace std::chrono;
    const sys_seconds s{seconds{second}};
    const sys_days day = floor<days>(s);
    const year_month_day ymd{day};
    const auto in_day = static_cast<unsigned>((s - day).count());
    const auto y = static_cast<unsigned>(static_cast<int>(ymd.year()));
    char* p = t.text;
    put2(p, y / 100);
    put2(p + 2, y % 100);
    p[4] = '-';
    put2(p + 5, static_cast<unsigned>(ymd.month()));
    p[7] = '-';
    put2(p + 8, static_cast<unsigned>(ymd.day()));
    p[10] = 'T';
    put2(p + 11, in_day / 3600);
    p[13] = ':';
    put2(p + 14, in_day / 60 % 60);
    p[16] = ':';
    put2(p + 17, in_day % 60);
    p[19] = '.';
    t.second = second;
}

// RFC 3339 UTC with milliseconds, quoted: "2026-11-23T15:04:05.123Z" (26 bytes). Clamped to
// years 0000-9999.
constexpr std::size_t time_text_size = 26;

void format_time(char* out, std::chrono::system_clock::time_point tp) noexcept {
    constexpr std::int64_t first = -62167219200;  // 0000-01-01T00:00:00Z
    constexpr std::int64_t last = 253402300799;   // 9999-12-31T23:59:59Z
    const std::int64_t ms =
        std::chrono::floor<std::chrono::milliseconds>(tp.time_since_epoch()).count();
    std::int64_t second = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    auto milli = static_cast<unsigned>(ms - second * 1000);
    if (second < first || second > last) {
        second = std::clamp(second, first, last);
        milli = second == first ? 0 : 999;
    }
    thread_local time_prefix cache;
    if (cache.second != second) fill_time_prefix(cache, second);
    out[0] = '"';
    std::memcpy(out + 1, cache.text, sizeof cache.text);
    char* p = out + 1 + sizeof cache.text;
    p[0] = static_cast<char>('0' + milli / 100);
    put2(p + 1, milli % 100);
    p[3] = 'Z';
    p[4] = '"';
}

// Microseconds as milliseconds with three decimals ("12.345"); negative counts as 0.
char* format_millis(char* p, std::chrono::microseconds d) noexcept {
    const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0));
    p = std::to_chars(p, p + 20, us / 1000).ptr;
    const auto frac = static_cast<unsigned>(us % 1000);
    p[0] = '.';
    p[1] = static_cast<char>('0' + frac / 100);
    put2(p + 2, frac % 100);
    return p + 4;
}
constexpr std::size_t max_millis_size = 20 + 4;

// Writes into a buffer known to be large enough; strings must be plain.
struct pointer_sink {
    char* p;
    template <std::size_t n>
    void literal(const char (&text)[n]) noexcept {
        std::memcpy(p, text, n - 1);
        p += n - 1;
    }
    void string(std::string_view s) noexcept {
        *p++ = '"';
        std::memcpy(p, s.data(), s.size());
        p += s.size();
        *p++ = '"';
    }
    void number(std::uint64_t v) noexcept { p = std::to_chars(p, p + 20, v).ptr; }
    void millis(std::chrono::microseconds d) noexcept { p = format_millis(p, d); }
    void time(std::chrono::system_clock::time_point tp) noexcept {
        format_time(p, tp);
        p += time_text_size;
    }
};

// Appends to the string, escaping strings.
struct append_sink {
    std::string& out;
    template <std::size_t n>
    void literal(const char (&text)[n]) {
        out.append(text, n - 1);
    }
    void string(std::string_view s) { append_json_string(out, s); }
    void number(std::uint64_t v) {
        char buf[20];
        out.append(buf,
                   static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
    }
    void millis(std::chrono::microseconds d) {
        char buf[max_millis_size];
        out.append(buf, static_cast<std::size_t>(format_millis(buf, d) - buf));
    }
    void time(std::chrono::system_clock::time_point tp) {
        char buf[time_text_size];
        format_time(buf, tp);
        out.append(buf, sizeof buf);
    }
};

// A string, or null when empty.
template <class Sink>
void nullable(Sink& out, std::string_view s) {
    if (s.empty()) {
        out.literal("null");
    } else {
        out.string(s);
    }
}

// The strings of a line, each cut to its bound.
struct line_strings {
    std::string_view peer, client_ip, method, path, host, rule, dialect, client, upstream_addr,
        request_id, trace_id, user_agent, error;
    std::size_t total() const noexcept {
        return peer.size() + client_ip.size() + method.size() + path.size() + host.size() +
               rule.size() + dialect.size() + client.size() + upstream_addr.size() +
               request_id.size() + trace_id.size() + user_agent.size() + error.size();
    }
    bool plain() const noexcept {
        for (std::string_view v : {peer, client_ip, method, path, host, rule, dialect, client,
                                   upstream_addr, request_id, trace_id, user_agent, error})
            if (!is_plain_json_text(v)) return false;
        return true;
    }
};

// The one definition of the line: keys, their order, nulls.
template <class Sink>
void write_record(Sink& out, const access_record& r, const line_strings& s) {
    out.literal(R"({"time":)");
    out.time(r.time);
    out.literal(R"(,"peer":)");
    out.string(s.peer);
    out.literal(R"(,"client_ip":)");
    out.string(s.client_ip);
    out.literal(R"(,"method":)");
    out.string(s.method);
    out.literal(R"(,"path":)");
    out.string(s.path);
    out.literal(R"(,"host":)");
    nullable(out, s.host);
    out.literal(R"(,"rule":)");
    nullable(out, s.rule);
    out.literal(R"(,"dialect":)");
    nullable(out, s.dialect);
    out.literal(R"(,"client":)");
    nullable(out, s.client);
    out.literal(R"(,"status":)");
    out.number(r.status);
    out.literal(R"(,"upstream_status":)");
    if (r.upstream_status == 0) {
        out.literal("null");
    } else {
        out.number(r.upstream_status);
    }
    out.literal(R"(,"upstream_addr":)");
    nullable(out, s.upstream_addr);
    out.literal(R"(,"bytes_in":)");
    out.number(r.bytes_in);
    out.literal(R"(,"bytes_out":)");
    out.number(r.bytes_out);
    out.literal(R"(,"duration_ms":)");
    out.millis(r.duration);
    out.literal(R"(,"upstream_ms":)");
    if (r.upstream_duration.count() == 0) {
        out.literal("null");
    } else {
        out.millis(r.upstream_duration);
    }
    out.literal(R"(,"request_id":)");
    out.string(s.request_id);
    out.literal(R"(,"trace_id":)");
    nullable(out, s.trace_id);
    out.literal(R"(,"user_agent":)");
    nullable(out, s.user_agent);
    out.literal(R"(,"error":)");
    nullable(out, s.error);
    out.literal("}\n");
}

// Keys, punctuation, quotes, the time and the widest numbers: 420 bytes; strings come on top.
constexpr std::size_t max_fixed_size = 432;
constexpr std::size_t stack_line_size = 2048;

// At most `max` bytes, not splitting a UTF-8 sequence (a cut in invalid text is harmless: the
// escaper replaces what is invalid anyway).
std::string_view cut_text(std::string_view text, std::size_t max) noexcept {
    if (text.size() <= max) return text;
    std::size_t cut = max;
    for (std::size_t back = 0; back < 3 && cut > 0; ++back) {
        if ((static_cast<unsigned char>(text[cut]) & 0xC0) != 0x80) break;
        --cut;
    }
    if ((static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) cut = max;
    return text.substr(0, cut);
}

int open_file(const std::string& path) noexcept {
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

struct write_result {
    std::size_t written = 0;
    int error = 0;  // errno of the failed write, 0 when all was written
};

// Writes all of `data`: retries partial writes and EINTR, waits out EAGAIN (a non-blocking stdout).
write_result write_all(int fd, std::string_view data) noexcept {
    write_result r;
    while (r.written < data.size()) {
        const ssize_t n = ::write(fd, data.data() + r.written, data.size() - r.written);
        if (n >= 0) {
            r.written += static_cast<std::size_t>(n);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, -1) >= 0 || errno == EINTR) continue;
        }
        r.error = errno;
        break;
    }
    return r;
}

std::uint64_t count_lines(std::string_view s) noexcept {
    return static_cast<std::uint64_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

void append_access_record(std::string& out, const access_record& r) {
    line_strings s;
    s.peer = cut_text(r.peer, max_short_bytes);
    s.client_ip = cut_text(r.client_ip.empty() ? r.peer : r.client_ip, max_short_bytes);
    s.method = cut_text(r.method, max_short_bytes);
    s.path = cut_text(r.path, max_path_bytes);
    s.host = cut_text(r.host, max_header_bytes);
    s.rule = r.rule;
    s.dialect = r.dialect;
    s.client = cut_text(r.client, max_short_bytes);
    s.upstream_addr = cut_text(r.upstream_addr, max_short_bytes);
    s.request_id = cut_text(r.request_id, max_id_bytes);
    s.trace_id = cut_text(r.trace_id, max_short_bytes);
    s.user_agent = cut_text(r.user_agent, max_header_bytes);
    s.error = cut_text(r.error, max_short_bytes);
    const std::size_t strings = s.total();
    if (max_fixed_size + strings <= stack_line_size && s.plain()) {
        // The usual line: written by pointer on the stack, appended in one go.
        char line[stack_line_size];
        pointer_sink sink{line};
        write_record(sink, r, s);
        out.append(line, static_cast<std::size_t>(sink.p - line));
        return;
    }
    out.reserve(out.size() + max_fixed_size + strings);  // then appends seldom reallocate
    append_sink sink{out};
    write_record(sink, r, s);
}

std::unique_ptr<access_log> access_log::open(const std::string& path, std::string& error) {
    const bool to_stdout = path == "-";
    const int fd = to_stdout ? STDOUT_FILENO : open_file(path);
    if (fd < 0) {
        error = "--access-log " + path + ": " + std::strerror(errno);
        return nullptr;
    }
    try {
        return std::unique_ptr<access_log>(new access_log(path, fd));
    } catch (const std::system_error& e) {  // the writer thread could not start
        if (!to_stdout) ::close(fd);
        error = "--access-log " + path + ": " + e.what();
        return nullptr;
    }
}

access_log::access_log(std::string path, int fd)
    : path_(std::move(path)), fd_(fd), writer_([this] { run(); }) {}

access_log::~access_log() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    writer_.join();
    if (path_ != "-" && fd_ >= 0) ::close(fd_);
}

void access_log::submit(std::string& lines) {
    if (lines.empty()) return;
    const std::size_t size = lines.size();
    bool queued = false;
    {
        std::lock_guard lock(mutex_);
        if (queued_bytes_ + size <= max_queued_bytes) {
            queue_.emplace_back().swap(lines);
            queued_bytes_ += size;
            ++submitted_;
            if (!spare_.empty()) {
                lines.swap(spare_.back());
                spare_.pop_back();
            }
            queued = true;
        }
    }
    if (queued) {
        wake_.notify_one();
        return;
    }
    dropped_.fetch_add(count_lines(lines), std::memory_order_relaxed);
    lines.clear();
}

void access_log::reopen() {
    {
        std::lock_guard lock(mutex_);
        ++reopens_requested_;
    }
    wake_.notify_one();
}

void access_log::flush() {
    std::unique_lock lock(mutex_);
    const std::uint64_t batches = submitted_;
    const std::uint64_t reopens = reopens_requested_;
    done_.wait(lock, [&] { return written_ >= batches && reopens_done_ >= reopens; });
}

std::uint64_t access_log::dropped_lines() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
}

void access_log::run() {
    std::deque<std::string> batch;
    bool failing = false;  // log the first failed write, and the recovery, not every one
    std::unique_lock lock(mutex_);
    spare_.reserve(max_spares);  // so that recycling a buffer never allocates under the lock
    for (;;) {
        wake_.wait(lock,
                   [&] { return stop_ || !queue_.empty() || reopens_done_ < reopens_requested_; });
        if (queue_.empty() && reopens_done_ == reopens_requested_) return;  // stop_, all written
        batch.swap(queue_);
        const std::uint64_t reopens = reopens_requested_;
        const bool do_reopen = reopens_done_ < reopens;
        lock.unlock();

        if (do_reopen && path_ != "-") {
            // Open the new file before closing the old one: if the open fails, keep writing.
            const int fd = open_file(path_);
            if (fd < 0) {
                log_error("access log: reopen " + path_ + ": " + std::strerror(errno));
            } else {
                ::close(fd_);
                fd_ = fd;
            }
        }
        std::size_t bytes = 0;
        for (std::string& lines : batch) {
            const write_result w = write_all(fd_, lines);
            if (w.error != 0) {
                dropped_.fetch_add(count_lines(std::string_view(lines).substr(w.written)),
                                   std::memory_order_relaxed);
                if (!failing) {
                    log_error("access log: write " + path_ + ": " + std::strerror(w.error));
                }
                failing = true;
            } else if (failing) {
                log_info("access log: writing " + path_ + " again");
                failing = false;
            }
            bytes += lines.size();
            lines.clear();
            if (lines.capacity() > max_spare_capacity) lines = std::string();
        }

        lock.lock();
        queued_bytes_ -= bytes;
        written_ += batch.size();
        reopens_done_ = reopens;
        for (std::string& lines : batch) {
            if (spare_.size() == max_spares) break;
            spare_.push_back(std::move(lines));
        }
        batch.clear();
        done_.notify_all();
    }
}

}  // namespace shimgate
