// Writing the Server-Timing field into an answer head already built.
#include "observe/server_timing.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace shimgate {
namespace {

// Nanoseconds as milliseconds with three decimals ("12.345"); negative counts as 0.
char* put_millis(char* p, std::chrono::nanoseconds d) noexcept {
    const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(d).count(), 0));
    p = std::to_chars(p, p + 20, us / 1000).ptr;
    const auto frac = static_cast<unsigned>(us % 1000);
    p[0] = '.';
    p[1] = static_cast<char>('0' + frac / 100);
    p[2] = static_cast<char>('0' + frac / 10 % 10);
    p[3] = static_cast<char>('0' + frac % 10);
    return p + 4;
}

}  // namespace

void add_server_timing(std::string& head, std::chrono::nanoseconds total,
                       std::optional<std::chrono::nanoseconds> upstream) {
    if (!head.ends_with("\r\n\r\n")) return;
    char field[128];
    char* p = field;
    constexpr std::string_view name = "Server-Timing: shim;dur=";
    p = std::copy(name.begin(), name.end(), p);
    const std::chrono::nanoseconds own = upstream ? total - *upstream : total;
    p = put_millis(p, own);
    if (upstream) {
        constexpr std::string_view next = ", upstream;dur=";
        p = std::copy(next.begin(), next.end(), p);
        p = put_millis(p, *upstream);
    }
    *p++ = '\r';
    *p++ = '\n';
    head.insert(head.size() - 2, field, static_cast<std::size_t>(p - field));
}

}  // namespace shimgate
