#include "fake_upstream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "harness.hpp"

namespace shimgate::testing {

fake_upstream::fake_upstream(reply_fn reply, bool close_after_reply)
    : fake_upstream(std::move(reply), options{.close_after_reply = close_after_reply}) {}

fake_upstream::fake_upstream(reply_fn reply, options opts) : reply_(std::move(reply)), opts_(opts) {
    listen_fd_ = listen_on_loopback(port_, "fake_upstream");
    acceptor_ = std::thread([this] {
        for (;;) {
            int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) return;  // shut down
            std::lock_guard lock(mutex_);
            if (stopping_) {
                ::close(fd);
                return;
            }
            ++connections_;
            open_fds_.push_back(fd);
            workers_.emplace_back([this, fd] { serve(fd); });
        }
    });
}

fake_upstream::~fake_upstream() {
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

std::vector<std::string> fake_upstream::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

namespace {

// Length of a complete request at the start of `data` (head + body), or 0 if incomplete.
std::size_t complete_request(const std::string& data) {
    auto head_end = data.find("\r\n\r\n");
    if (head_end == std::string::npos) return 0;
    std::string head = data.substr(0, head_end + 4);
    if (auto cl = header_of(head, "Content-Length")) {
        std::size_t total = head_end + 4 + std::stoul(*cl);
        return data.size() >= total ? total : 0;
    }
    if (header_of(head, "Transfer-Encoding")) {
        auto end = data.find("\r\n0\r\n\r\n", head_end);
        if (data.compare(head_end + 4, 5, "0\r\n\r\n") == 0) return head_end + 9;
        return end == std::string::npos ? 0 : end + 7;
    }
    return head_end + 4;
}

}  // namespace

void fake_upstream::serve(int fd) {
    using clock = std::chrono::steady_clock;
    std::string data;
    char buf[65536];
    std::size_t served = 0;  // requests read on this connection
    auto idle_since = clock::now();
    auto drop = [&] {
        ++dropped_;
        ::shutdown(fd, SHUT_RDWR);
    };
    for (;;) {
        std::size_t n = complete_request(data);
        if (n == 0) {
            if (opts_.idle_close.count() > 0 && data.empty()) {
                // Waits for the next request only until the idle close (plus its lag) is due.
                const auto due = idle_since + opts_.idle_close + opts_.close_lag;
                const auto left =
                    std::chrono::duration_cast<std::chrono::milliseconds>(due - clock::now());
                pollfd p{fd, POLLIN, 0};
                if (::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0))) == 0) {
                    ::shutdown(fd, SHUT_RDWR);
                    ++closed_;
                    return;
                }
            }
            auto got = ::recv(fd, buf, sizeof buf, 0);
            if (got <= 0) {
                if (!stopping_) ++closed_by_shim_;
                return;
            }
            data.append(buf, static_cast<std::size_t>(got));
            continue;
        }
        std::string request = data.substr(0, n);
        data.erase(0, n);
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(request);
        }
        ++served;
        if (opts_.idle_close.count() > 0 && clock::now() - idle_since >= opts_.idle_close)
            return drop();  // the connection was over when the request came
        if (opts_.drop_every != 0 && served % opts_.drop_every == 0) return drop();
        std::string out = reply_(request);
        if (out.empty()) {
            ::shutdown(fd, SHUT_RDWR);
            return;
        }
        bool reset = out.ends_with(reset_marker);
        if (reset) out.resize(out.size() - reset_marker.size());
        std::size_t sent = 0;
        while (sent < out.size()) {
            auto w = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (w <= 0) return;
            sent += static_cast<std::size_t>(w);
        }
        idle_since = clock::now();
        if (reset) {
            linger l{1, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            std::lock_guard lock(mutex_);
            // Closed here (the RST goes now); the destructor must not close the number again.
            std::erase(open_fds_, fd);
            ::close(fd);
            return;
        }
        if (opts_.close_after_reply) {
            ::shutdown(fd, SHUT_RDWR);
            ++closed_;
            return;
        }
    }
}

std::string fake_upstream::answer(unsigned status, std::string_view body,
                                  std::string_view content_type, std::string_view extra_headers) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " Whatever\r\n";
    if (!content_type.empty()) out += "Content-Type: " + std::string(content_type) + "\r\n";
    out += extra_headers;
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    out += body;
    return out;
}

std::string body_of(const std::string& raw) {
    auto head_end = raw.find("\r\n\r\n");
    std::string head = raw.substr(0, head_end + 4);
    std::string body = raw.substr(head_end + 4);
    if (!header_of(head, "Transfer-Encoding")) return body;
    std::string out;
    std::size_t pos = 0;
    for (;;) {
        auto eol = body.find("\r\n", pos);
        std::size_t size = std::stoul(body.substr(pos, eol - pos), nullptr, 16);
        if (size == 0) return out;
        out += body.substr(eol + 2, size);
        pos = eol + 2 + size + 2;
    }
}

std::string request_line_of(const std::string& raw) {
    return raw.substr(0, raw.find("\r\n"));
}

}  // namespace shimgate::testing
