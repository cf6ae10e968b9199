// Reading a traceparent value: fixed positions, so one pass over 55 bytes.
#include "observe/trace_context.hpp"

#include "common/ascii.hpp"

namespace shimgate {
namespace {

constexpr bool is_lower_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// Lower-case hex and not all zeros (an all-zero trace or parent id is invalid).
constexpr bool is_nonzero_hex_id(std::string_view s) noexcept {
    bool nonzero = false;
    for (char c : s) {
        if (!is_lower_hex(c)) return false;
        nonzero = nonzero || c != '0';
    }
    return nonzero;
}

}  // namespace

std::string_view trace_id_of(std::string_view value) noexcept {
    const std::string_view v = trim_ows(value);
    // version(2) '-' trace-id(32) '-' parent-id(16) '-' flags(2); version 00 has nothing after.
    constexpr std::size_t size = 2 + 1 + 32 + 1 + 16 + 1 + 2;
    if (v.size() != size || v[0] != '0' || v[1] != '0' || v[2] != '-' || v[35] != '-' ||
        v[52] != '-')
        return {};
    if (!is_lower_hex(v[53]) || !is_lower_hex(v[54])) return {};
    const std::string_view trace = v.substr(3, 32);
    if (!is_nonzero_hex_id(trace) || !is_nonzero_hex_id(v.substr(36, 16))) return {};
    return trace;
}

}  // namespace shimgate
