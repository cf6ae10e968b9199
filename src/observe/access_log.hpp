#pragma once
// The access log: one JSON line per request (--access-log FILE, or - for stdout). Workers append
// lines to their own buffer on the request path (no lock, no syscall) and hand full buffers to
// `access_log::submit` now and then; one writer thread does the writes, and reopens the file on
// request (SIGUSR1, for log rotation). Credentials and bodies are never logged.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace shimgate {

struct access_record {
    std::chrono::system_clock::time_point time;  // when the request head was complete
    std::string_view peer;                       // the connection's peer address
    std::string_view client_ip;  // the client's address (behind trusted proxies); "" = peer
    std::string_view method;
    std::string_view path;  // the request target's path, as received (no query string)
    std::string_view host;  // the Host field; "": null
    std::string_view rule;  // "" for pass-through
    std::string_view dialect;
    std::string_view client;         // a dialect route's credential fingerprint (16 hex); "": null
    unsigned status = 0;             // sent to the client
    unsigned upstream_status = 0;    // 0: none (refused before the upstream, or it failed)
    std::string_view upstream_addr;  // "ip:port" of the upstream connection; "": null
    std::uint64_t bytes_in = 0;      // request body bytes received
    std::uint64_t bytes_out = 0;     // response body bytes sent
    std::chrono::microseconds duration{0};           // head complete -> answer written
    std::chrono::microseconds upstream_duration{0};  // 0: no upstream exchange
    std::string_view request_id;
    std::string_view trace_id;    // from a valid traceparent; "": null
    std::string_view user_agent;  // "": null
    std::string_view error;       // "upstream_reset", ...; "": null
};

// Appends one JSON line (with '\n'); strings are escaped, the path is cut at 1024 bytes, Host and
// User-Agent at 256, the addresses at 64 (never inside a UTF-8 sequence).
void append_access_record(std::string& out, const access_record& r);

class access_log {
  public:
    // "-" writes to stdout. Null and `error` set (naming the file) if it cannot be opened.
    static std::unique_ptr<access_log> open(const std::string& path, std::string& error);
    ~access_log();  // writes what was submitted, then stops the writer thread
    access_log(const access_log&) = delete;
    access_log& operator=(const access_log&) = delete;

    // Hands over complete lines; `lines` is left empty, with the capacity of a buffer the writer
    // has finished with (swap in, swap out), so a steady caller does not allocate.
    // If the writer is far behind (over 64 MiB queued), the batch is dropped and counted.
    void submit(std::string& lines);
    void reopen();  // from any thread: the writer reopens the file before its next write
    // Blocks until every batch submitted and every reopen() requested before the call is done.
    // For tests and shutdown; never call it on the request path.
    void flush();
    // Lines dropped because the queue was full, plus lines a failed write(2) did not write.
    std::uint64_t dropped_lines() const noexcept;

  private:
    access_log(std::string path, int fd);
    void run();

    std::string path_;
    int fd_;  // touched only by the writer thread once it runs
    std::mutex mutex_;
    std::condition_variable wake_;  // writer: work, reopen or stop
    std::condition_variable done_;  // flush(): the writer finished a round
    std::deque<std::string> queue_;
    std::vector<std::string> spare_;  // written buffers, cleared, handed back by submit()
    std::size_t queued_bytes_ = 0;    // queued or being written
    std::uint64_t submitted_ = 0;     // batches queued, ever
    std::uint64_t written_ = 0;       // batches written (or failed), ever
    std::uint64_t reopens_requested_ = 0;
    std::uint64_t reopens_done_ = 0;
    std::atomic<std::uint64_t> dropped_{0};
    bool stop_ = false;
    std::thread writer_;  // last: starts after every other member is ready
};

}  // namespace shimgate
