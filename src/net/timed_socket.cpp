#include "net/timed_socket.hpp"

#include <algorithm>

namespace shimgate {

void timed_socket::watch_peer_close() noexcept {
#if SHIMGATE_EPOLL_EDGE
    if (!close_watched_) close_watched_ = asio_epoll_edge::watch_peer_close(socket_);
#endif
}

timed_socket::timed_socket(args a) : socket_(std::move(a.socket)) {
    boost::system::error_code ignored;
    if (socket_.is_open()) {
        socket_.non_blocking(true, ignored);
        watch_peer_close();
    }
    a.list.push_back(*this);
}

void timed_socket::expire_if_due(clock::time_point now) noexcept {
    if (expired_ || deadline_ > now) return;
    expired_ = true;
    boost::system::error_code ignored;
    if (cancel_only_)
        socket_.cancel(ignored);
    else
        socket_.close(ignored);  // as beast::tcp_stream: a timed-out connection is over
}

void sweep_deadlines(timed_socket_list& list, timed_socket::clock::time_point now) noexcept {
    for (timed_socket& s : list) s.expire_if_due(now);
}

std::chrono::milliseconds sweep_period(std::chrono::milliseconds shortest_timeout) noexcept {
    using std::chrono::milliseconds;
    return std::clamp(shortest_timeout / 8, milliseconds(5), milliseconds(250));
}

}  // namespace shimgate
