#include "piecewise_relay.hpp"

#include "harness.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>  // rtattr, RTA_*
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <thread>

namespace shimgate::testing {

namespace {

// What the kernel says about shimgate's end of one relay connection.
struct peer_state {
    std::uint64_t bytes_received = 0;  // arrived in its socket so far
    std::uint32_t unread = 0;          // arrived but not read by shimgate yet
};

// Where the kernel's struct tcp_info (linux/tcp.h, which cannot be included beside glibc's
// netinet/tcp.h) has tcpi_bytes_received: after tcpi_total_retrans, the last field glibc's copy
// knows, come four __u64 (pacing_rate, max_pacing_rate, bytes_acked, bytes_received).
static_assert(offsetof(tcp_info, tcpi_total_retrans) == 100);
constexpr std::size_t bytes_received_at = 104 + 3 * 8;

// Asks sock_diag about one TCP socket by its exact address pair (no dump: a direct lookup).
class peer_probe {
  public:
    explicit peer_probe(int down) {
        socklen_t len = sizeof peer_;
        ::getpeername(down, reinterpret_cast<sockaddr*>(&peer_), &len);
        len = sizeof self_;
        ::getsockname(down, reinterpret_cast<sockaddr*>(&self_), &len);
        fd_ = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        timeval tv{1, 0};
        if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~peer_probe() {
        if (fd_ >= 0) ::close(fd_);
    }
    peer_probe(const peer_probe&) = delete;
    peer_probe& operator=(const peer_probe&) = delete;

    std::optional<peer_state> ask() const {
        if (fd_ < 0) return std::nullopt;
        struct {
            nlmsghdr header;
            inet_diag_req_v2 body;
        } req{};
        req.header.nlmsg_len = sizeof req;
        req.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
        req.header.nlmsg_flags = NLM_F_REQUEST;
        req.body.sdiag_family = AF_INET;
        req.body.sdiag_protocol = IPPROTO_TCP;
        req.body.idiag_ext = 1 << (INET_DIAG_INFO - 1);
        req.body.idiag_states = ~0u;
        // shimgate's socket: its local end is our peer.
        req.body.id.idiag_sport = peer_.sin_port;
        req.body.id.idiag_dport = self_.sin_port;
        req.body.id.idiag_src[0] = peer_.sin_addr.s_addr;
        req.body.id.idiag_dst[0] = self_.sin_addr.s_addr;
        req.body.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
        req.body.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
        sockaddr_nl kernel{};
        kernel.nl_family = AF_NETLINK;
        if (::sendto(fd_, &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel),
                     sizeof kernel) < 0)
            return std::nullopt;
        alignas(nlmsghdr) char buf[8192];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return std::nullopt;
        auto* h = reinterpret_cast<nlmsghdr*>(buf);
        if (!NLMSG_OK(h, static_cast<unsigned>(n)) || h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
            return std::nullopt;  // NLMSG_ERROR: the socket is gone
        auto* msg = static_cast<inet_diag_msg*>(NLMSG_DATA(h));
        peer_state s;
        s.unread = msg->idiag_rqueue;
        int left = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *msg));
        for (auto* a = reinterpret_cast<rtattr*>(msg + 1); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
            if (a->rta_type != INET_DIAG_INFO) continue;
            if (RTA_PAYLOAD(a) < bytes_received_at + sizeof s.bytes_received) return std::nullopt;
            std::memcpy(&s.bytes_received,
                        static_cast<const char*>(RTA_DATA(a)) + bytes_received_at,
                        sizeof s.bytes_received);
            return s;
        }
        return std::nullopt;
    }

  private:
    int fd_ = -1;
    sockaddr_in peer_{};
    sockaddr_in self_{};
};

// Waits until shimgate has received all `sent` bytes and read them, at most `bound` (a shim that
// stops reading only makes the pieces after it go unconfirmed); the polling pauses shape traffic,
// no assertion. False if not seen within the bound.
bool wait_until_read(const peer_probe& probe, std::uint64_t sent, std::chrono::milliseconds bound) {
    auto give_up = std::chrono::steady_clock::now() + bound;
    auto pause = std::chrono::microseconds(10);
    for (;;) {
        auto s = probe.ask();
        if (!s) return false;
        if (s->bytes_received >= sent && s->unread == 0) return true;
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
}

bool send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        auto w = ::send(fd, data, size, MSG_NOSIGNAL);
        if (w <= 0) return false;
        data += w;
        size -= static_cast<std::size_t>(w);
    }
    return true;
}

void reset_on_close(int fd) {
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

}  // namespace

std::string piece_mode_name(const ::testing::TestParamInfo<std::size_t>& info) {
    return info.param == 0 ? "whole" : "pieces" + std::to_string(info.param);
}

piecewise_relay::piecewise_relay(unsigned short upstream_port, std::size_t piece)
    : upstream_port_(upstream_port), piece_(piece), port_(upstream_port) {
    if (piece_ == 0) return;
    listen_fd_ = listen_on_loopback(port_, "piecewise_relay");
    acceptor_ = std::thread([this] {
        for (;;) {
            int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) return;  // shut down
            std::lock_guard lock(mutex_);
            if (stopping_) {
                ::close(fd);
                return;
            }
            open_fds_.push_back(fd);
            workers_.emplace_back([this, fd] { serve(fd); });
        }
    });
}

void piecewise_relay::settle() {
    std::unique_lock lock(settle_mutex_);
    settled_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return settled_ == sends_; });
}

piecewise_relay::~piecewise_relay() {
    if (piece_ == 0) return;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    for (auto& t : workers_) t.join();
    for (int fd : open_fds_) ::close(fd);
    ::close(listen_fd_);
}

void piecewise_relay::serve(int down) {
    int one = 1;
    ::setsockopt(down, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(upstream_port_);
    bool connected = ::connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    {
        std::lock_guard lock(mutex_);
        open_fds_.push_back(up);
        if (stopping_) {  // the destructor's shutdown may have come before this socket was known
            ::shutdown(up, SHUT_RDWR);
            ::shutdown(down, SHUT_RDWR);
        }
    }
    if (!connected) {
        reset_on_close(down);  // as an unreachable upstream would look: shimgate's connection ends
    } else {
        // Requests go up unchanged; an end or reset from shimgate is passed on.
        std::thread requests([up, down] {
            char buf[65536];
            for (;;) {
                auto n = ::recv(down, buf, sizeof buf, 0);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) {
                    if (n < 0) reset_on_close(up);
                    ::shutdown(up, n < 0 ? SHUT_RDWR : SHUT_WR);
                    return;
                }
                if (!send_all(up, buf, static_cast<std::size_t>(n))) return;
            }
        });
        pump_down(up, down);
        requests.join();
    }
    std::lock_guard lock(mutex_);
    std::erase(open_fds_, up);
    std::erase(open_fds_, down);
    ::close(up);
    ::close(down);
}

void piecewise_relay::pump_down(int up, int down) {
    using namespace std::chrono_literals;
    constexpr auto patience = 2000ms;
    peer_probe probe(down);
    std::uint64_t sent = 0;
    bool patient = true;
    char buf[65536];
    for (;;) {
        auto n = ::recv(up, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) {
            ::shutdown(down, SHUT_WR);  // the upstream finished: so does the relay, cleanly
            return;
        }
        if (n < 0) {
            reset_on_close(down);       // the upstream reset: shimgate sees a reset too
            ::shutdown(down, SHUT_RD);  // and the request direction stops
            return;
        }
        for (std::size_t off = 0; off < static_cast<std::size_t>(n); off += piece_) {
            auto size = std::min(piece_, static_cast<std::size_t>(n) - off);
            ++sends_;  // counted before it goes: a client holding the answer sees every piece
            bytes_ += size;
            sent += size;
            bool delivered = send_all(down, buf + off, size);
            // Once shimgate has let a piece wait the whole bound (it is not reading this
            // connection now, e.g. the client is slow), the next pieces are only looked at, not
            // waited for, until it reads again: no multi-second stall per byte.
            bool read = delivered && wait_until_read(probe, sent, patient ? patience : 0ms);
            patient = read;
            if (read) ++read_alone_;
            {
                std::lock_guard lock(settle_mutex_);
                ++settled_;
            }
            settled_cv_.notify_all();
            if (!delivered) {
                ::shutdown(up, SHUT_RDWR);
                return;
            }
        }
    }
}

}  // namespace shimgate::testing
