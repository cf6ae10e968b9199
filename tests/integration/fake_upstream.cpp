#include "fake_upstream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "harness.hpp"

namespace shimgate::testing {

fake_upstream::fake_upstream(reply_fn reply, bool close_after_reply)
    : reply_(std::move(reply)), close_after_reply_(close_after_reply) {
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
    std::string data;
    char buf[65536];
    for (;;) {
        std::size_t n = complete_request(data);
        if (n == 0) {
            auto got = ::recv(fd, buf, sizeof buf, 0);
            if (got <= 0) return;
            data.append(buf, static_cast<std::size_t>(got));
            continue;
        }
        std::string request = data.substr(0, n);
        data.erase(0, n);
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(request);
        }
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
        if (reset) {
            linger l{1, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            std::lock_guard lock(mutex_);
            // Closed here (the RST goes now); the destructor must not close the number again.
            std::erase(open_fds_, fd);
            ::close(fd);
            return;
        }
        if (close_after_reply_) {
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
