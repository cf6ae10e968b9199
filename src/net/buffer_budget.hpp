#pragma once
// --max-buffered-bytes: how many bytes of translated bodies (requests and answers, each held whole
// in memory) the process holds at once. One counter shared by every worker, relaxed atomics and no
// lock: it bounds memory, it orders nothing. A request holds its share in a buffer_hold (in its
// scratch), given back when the request ends.
#include <atomic>
#include <cstdint>

namespace shimgate {

class buffer_budget {
  public:
    explicit buffer_budget(std::uint64_t limit) noexcept : limit_(limit) {}

    // Takes `n` bytes if the total stays within the limit. Two racing takes may both fail where
    // one alone would have fitted: conservative, never over the limit.
    bool take(std::uint64_t n) noexcept {
        const std::uint64_t now = used_.fetch_add(n, std::memory_order_relaxed) + n;
        if (now <= limit_) return true;
        used_.fetch_sub(n, std::memory_order_relaxed);
        return false;
    }
    void give(std::uint64_t n) noexcept { used_.fetch_sub(n, std::memory_order_relaxed); }
    std::uint64_t used() const noexcept { return used_.load(std::memory_order_relaxed); }

  private:
    std::uint64_t limit_;
    std::atomic<std::uint64_t> used_{0};
};

// One request's share of a buffer_budget, given back by release() or the destructor.
class buffer_hold {
  public:
    buffer_hold() = default;
    buffer_hold(const buffer_hold&) = delete;
    buffer_hold& operator=(const buffer_hold&) = delete;
    ~buffer_hold() { release(); }

    // `n` bytes more of `budget`; false (and nothing taken) when that would pass its limit.
    bool grow(buffer_budget& budget, std::uint64_t n) noexcept {
        if (n == 0) return true;
        if (budget_ && budget_ != &budget) release();
        if (!budget.take(n)) return false;
        budget_ = &budget;
        held_ += n;
        return true;
    }
    void release() noexcept {
        if (budget_ && held_) budget_->give(held_);
        held_ = 0;
    }
    std::uint64_t held() const noexcept { return held_; }

  private:
    buffer_budget* budget_ = nullptr;
    std::uint64_t held_ = 0;
};

}  // namespace shimgate
