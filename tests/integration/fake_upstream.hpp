#pragma once
// A scripted upstream for tests that must see the exact bytes shimgate forwards, or need an
// upstream that misbehaves. Each connection runs on its own thread; every request (head + body as
// framed by Content-Length or chunked) is recorded raw, and the reply function's bytes are written
// back. An empty reply closes the connection without answering.
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace shimgate::testing {

class fake_upstream {
  public:
    using reply_fn = std::function<std::string(const std::string& request)>;
    struct options {
        // Close each connection right after its first answer, without saying so.
        bool close_after_reply = false;
        // Like a server with a keep-alive timeout: a connection idle this long is over. Its close
        // reaches the shim `close_lag` later (a coarse timer, a FIN still on the wire); a request
        // arriving in between is read and dropped unanswered, as a close crossing it would.
        std::chrono::milliseconds idle_close{0};  // 0: never
        std::chrono::milliseconds close_lag{0};
        // The Nth request of every connection is read and not answered: the connection closes
        // (as an upstream with a per-connection request limit that does not say so). 0: never.
        std::size_t drop_every = 0;
    };
    // `close_after_reply`: close each connection right after its first answer, without saying so.
    explicit fake_upstream(reply_fn reply, bool close_after_reply = false);
    fake_upstream(reply_fn reply, options opts);
    ~fake_upstream();
    fake_upstream(const fake_upstream&) = delete;
    fake_upstream& operator=(const fake_upstream&) = delete;

    unsigned short port() const { return port_; }
    std::vector<std::string> requests() const;
    std::size_t connections() const { return connections_.load(); }
    // Connections this side has shut down (close_after_reply), counted after shutdown() returned.
    std::size_t closed() const { return closed_.load(); }
    // Connections the shim closed (a read here found EOF or a reset).
    std::size_t closed_by_shim() const { return closed_by_shim_.load(); }
    // Requests read and dropped unanswered (idle_close, drop_every).
    std::size_t dropped() const { return dropped_.load(); }

    // A reply ending with this marker: its bytes before the marker are sent, then the connection
    // is reset (SO_LINGER 0), not closed.
    static constexpr std::string_view reset_marker{"\0<reset>", 8};

    // A complete HTTP/1.1 answer with Content-Length.
    static std::string answer(unsigned status, std::string_view body,
                              std::string_view content_type = "application/json",
                              std::string_view extra_headers = {});

  private:
    void serve(int fd);
    reply_fn reply_;
    options opts_;
    int listen_fd_ = -1;
    unsigned short port_ = 0;
    std::thread acceptor_;
    mutable std::mutex mutex_;
    std::vector<std::string> requests_;
    std::vector<int> open_fds_;
    std::vector<std::thread> workers_;
    std::atomic<std::size_t> connections_{0};
    std::atomic<std::size_t> closed_{0};
    std::atomic<std::size_t> closed_by_shim_{0};
    std::atomic<std::size_t> dropped_{0};
    std::atomic<bool> stopping_{false};
};

// The body of a recorded raw request (after the head), de-chunked if it was chunked.
std::string body_of(const std::string& raw_request);
// The request line of a recorded raw request.
std::string request_line_of(const std::string& raw_request);

}  // namespace shimgate::testing
