// upstream_addresses: round robin with ejection over the upstream's resolved addresses.
#include "net/upstream_addresses.hpp"

#include <algorithm>

namespace shimgate {

upstream_addresses::upstream_addresses(std::vector<endpoint> initial, clock::duration eject_time)
    : eject_time_(eject_time) {
    update(initial);
}

bool upstream_addresses::update(const std::vector<endpoint>& answer) {
    if (answer.empty()) return false;
    std::vector<entry> fresh;
    fresh.reserve(answer.size());
    for (const endpoint& a : answer) {
        if (std::any_of(fresh.begin(), fresh.end(), [&](const entry& e) { return e.address == a; }))
            continue;  // one address once, whatever the resolver repeats
        entry e{a, {}};
        for (const entry& old : entries_)
            if (old.address == a) e.ejected_until = old.ejected_until;
        fresh.push_back(e);
    }
    entries_ = std::move(fresh);
    next_ %= entries_.size();
    return true;
}

const upstream_addresses::endpoint* upstream_addresses::next(clock::time_point now) noexcept {
    const std::size_t n = entries_.size();
    if (n == 0) return nullptr;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t at = (next_ + i) % n;
        if (entries_[at].ejected_until <= now) {
            next_ = (at + 1) % n;
            return &entries_[at].address;
        }
    }
    // Every address is ejected: try them anyway, in turn (one may be back).
    const std::size_t at = next_;
    next_ = (next_ + 1) % n;
    return &entries_[at].address;
}

void upstream_addresses::eject(const endpoint& a, clock::time_point now) noexcept {
    for (entry& e : entries_)
        if (e.address == a) e.ejected_until = now + eject_time_;
}

bool upstream_addresses::ejected(const endpoint& a, clock::time_point now) const noexcept {
    for (const entry& e : entries_)
        if (e.address == a) return e.ejected_until > now;
    return false;
}

std::vector<upstream_addresses::endpoint> upstream_addresses::all() const {
    std::vector<endpoint> out;
    out.reserve(entries_.size());
    for (const entry& e : entries_) out.push_back(e.address);
    return out;
}

}  // namespace shimgate
