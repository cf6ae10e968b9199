#pragma once
// Which address a worker's next upstream connection goes to, when the --upstream name resolves to
// several: round robin over them, skipping for `eject_time` an address whose connect failed
// (refused, timed out) while others are left; when every one is skipped, all are tried anyway. A
// new resolver answer replaces the list (an empty one, a failed lookup, keeps the last good
// answer) and keeps what is known of the addresses still in it. Pure: times are given, no I/O;
// owned by one worker's pool, so no lock.
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <vector>

namespace shimgate {

class upstream_addresses {
  public:
    using clock = std::chrono::steady_clock;
    using endpoint = boost::asio::ip::tcp::endpoint;

    upstream_addresses(std::vector<endpoint> initial, clock::duration eject_time);

    // A resolver answer. Empty: ignored (false), the last good answer stays.
    bool update(const std::vector<endpoint>& answer);

    // The address for the next connect at `now` (none if the list is empty).
    const endpoint* next(clock::time_point now) noexcept;
    // `a` failed a connect at `now`: skipped until now + eject_time.
    void eject(const endpoint& a, clock::time_point now) noexcept;
    bool ejected(const endpoint& a, clock::time_point now) const noexcept;

    std::size_t size() const noexcept { return entries_.size(); }
    std::vector<endpoint> all() const;

  private:
    struct entry {
        endpoint address;
        clock::time_point ejected_until{};  // skipped before this
    };
    std::vector<entry> entries_;
    std::size_t next_ = 0;  // where the round robin goes on
    clock::duration eject_time_;
};

}  // namespace shimgate
