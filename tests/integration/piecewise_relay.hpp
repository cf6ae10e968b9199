#pragma once
// A loopback TCP relay put between shimgate and its upstream (fake_upstream or customer-api) that
// hands every answer byte to shimgate in pieces of N bytes, as Envoy's integration tests do with
// their fake upstream: each piece is its own send() (TCP_NODELAY), and the next one goes only once
// shimgate has read the previous one (its socket's receive queue, asked from the kernel with
// sock_diag, is empty), so every piece is a separate read on shimgate's side and piece borders
// fall on every boundary of the answer (status line, header lines, CRLFCRLF, chunk-size lines,
// trailers). That wait only shapes traffic: it gives up after 2 s, and while shimgate is not
// reading the connection at all, pieces go without waiting. Requests go to the upstream
// unchanged. End of stream and resets are passed on.
//
// Piece size 0 starts no relay: port() is the upstream's own, so a test parameterised over
// {0, 1, 5} runs the unchanged set-up once and once per piece size.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace shimgate::testing {

class piecewise_relay {
  public:
    piecewise_relay(unsigned short upstream_port, std::size_t piece);
    ~piecewise_relay();
    piecewise_relay(const piecewise_relay&) = delete;
    piecewise_relay& operator=(const piecewise_relay&) = delete;

    unsigned short port() const { return port_; }  // where shimgate should connect
    std::size_t piece() const { return piece_; }
    // Towards shimgate, over all connections so far: send() calls, bytes, and pieces shimgate was
    // seen to read before the next was sent (the rest went after waiting a bounded time).
    std::size_t sends() const { return sends_.load(); }
    std::size_t bytes() const { return bytes_.load(); }
    std::size_t pieces_read_alone() const { return read_alone_.load(); }
    // Returns once the relay is done waiting on every piece sent so far (at most 5 s): after the
    // client has the whole answer, the relay may still be looking at shimgate's last read.
    void settle();

  private:
    void serve(int down);
    void pump_down(int up, int down);
    unsigned short upstream_port_;
    std::size_t piece_;
    unsigned short port_ = 0;
    int listen_fd_ = -1;
    std::thread acceptor_;
    std::mutex mutex_;
    std::vector<int> open_fds_;
    std::vector<std::thread> workers_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> sends_{0};
    std::atomic<std::size_t> bytes_{0};
    std::atomic<std::size_t> read_alone_{0};
    std::size_t settled_ = 0;  // pieces whose wait is over, under settle_mutex_
    std::mutex settle_mutex_;
    std::condition_variable settled_cv_;
};

// For a suite run with the answers whole and in 1- and 5-byte pieces:
// INSTANTIATE_TEST_SUITE_P(Answers, Suite, every_piece_mode(), piece_mode_name), whose tests are
// named .../whole, .../pieces1, .../pieces5.
inline auto every_piece_mode() {
    return ::testing::Values(std::size_t{0}, std::size_t{1}, std::size_t{5});
}
std::string piece_mode_name(const ::testing::TestParamInfo<std::size_t>& info);

}  // namespace shimgate::testing
