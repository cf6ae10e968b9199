#pragma once
// The ASCII and token helpers every layer shares (HTTP heads on the request path, rule files at
// start-up): RFC 9110 tchar / token, case-insensitive comparison, lower-casing and OWS trimming.
// Bytes outside ASCII are never letters here: obs-text and UTF-8 compare as they are.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace shimgate {

constexpr bool is_alpha_ascii(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit_ascii(char c) noexcept {
    return c >= '0' && c <= '9';
}

// tchar (RFC 9110 §5.6.2): the characters of a token, such as a method or a field name.
constexpr bool is_tchar(unsigned char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// token = 1*tchar (methods, field names, auth schemes).
constexpr bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (const char c : s)
        if (!is_tchar(static_cast<unsigned char>(c))) return false;
    return true;
}

constexpr char to_lower_ascii(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

// `s` with ASCII 'A'-'Z' made lower case, in place.
inline void lower_ascii(std::string& s) noexcept {
    for (char& c : s) c = to_lower_ascii(c);
}

namespace detail {

// `v`'s eight bytes with ASCII 'A'-'Z' made lower case (other bytes, obs-text too, unchanged).
inline std::uint64_t fold_ascii8(std::uint64_t v) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t high = ones * 0x80;
    const std::uint64_t low7 = v & ~high;                   // no carry between bytes below
    const std::uint64_t ge_a = low7 + ones * (0x80 - 'A');  // bit 7: byte >= 'A'
    const std::uint64_t gt_z = low7 + ones * (0x7f - 'Z');  // bit 7: byte > 'Z'
    return v | ((ge_a & ~gt_z & ~v & high) >> 2);           // + 0x20 where 'A' <= byte <= 'Z'
}

inline std::uint64_t load8(const char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

inline std::uint32_t load4(const char* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

}  // namespace detail

// ASCII case-insensitive equality (field names, tokens such as "chunked"): eight bytes at a time,
// as it runs on every field of every head.
inline bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
    const std::size_t n = a.size();
    if (b.size() != n) return false;
    const char* x = a.data();
    const char* y = b.data();
    using detail::fold_ascii8;
    if (n >= 8) {
        for (std::size_t i = 0; i + 8 < n; i += 8)
            if (fold_ascii8(detail::load8(x + i)) != fold_ascii8(detail::load8(y + i)))
                return false;
        // The last eight bytes, overlapping what was compared already.
        return fold_ascii8(detail::load8(x + n - 8)) == fold_ascii8(detail::load8(y + n - 8));
    }
    if (n >= 4) {  // two overlapping four-byte halves
        const auto pair = [n](const char* p) {
            return detail::load4(p) | std::uint64_t{detail::load4(p + n - 4)} << 32;
        };
        return fold_ascii8(pair(x)) == fold_ascii8(pair(y));
    }
    for (std::size_t i = 0; i < n; ++i)
        if (fold_ascii8(static_cast<unsigned char>(x[i])) !=
            fold_ascii8(static_cast<unsigned char>(y[i])))
            return false;
    return true;
}

// `s` without leading and trailing SP / HTAB (optional white space, RFC 9110 §5.6.3).
constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace shimgate
