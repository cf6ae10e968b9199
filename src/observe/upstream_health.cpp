// The upstream's reachability flag and its two log lines.
#include "observe/upstream_health.hpp"

#include <atomic>
#include <string>

#include "observe/log.hpp"

namespace shimgate {
namespace {
std::atomic<bool> unreachable{false};
}  // namespace

void note_upstream_unreachable(std::string_view address, std::string_view why) {
    if (unreachable.load(std::memory_order_relaxed)) return;
    if (unreachable.exchange(true, std::memory_order_relaxed)) return;  // another worker said it
    log_error("upstream unreachable: " + std::string(address) + ": " + std::string(why) +
              " (logged once until a connection succeeds again)");
}

void note_upstream_reachable(std::string_view address) {
    if (!unreachable.load(std::memory_order_relaxed)) return;
    if (!unreachable.exchange(false, std::memory_order_relaxed)) return;
    log_info("upstream reachable again: " + std::string(address));
}

bool upstream_marked_unreachable() noexcept {
    return unreachable.load(std::memory_order_relaxed);
}

}  // namespace shimgate
