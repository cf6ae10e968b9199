#pragma once
// Key bookkeeping of the splice stages (request transform, response rewrite): duplicate detection
// over the keys of one object, and membership tests. Keys are compared unescaped ("\u0061" is "a").
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "json/json_context.hpp"

namespace shimgate {

// `text` with a cheap hash of its ends and length: a few loads instead of a byte loop (keys that
// differ only in their middle collide; a collision costs a comparison, never correctness).
inline hashed_key make_hashed_key(std::string_view text) noexcept {
    const auto load = [](const char* p, std::size_t n) {
        std::uint64_t v = 0;
        std::memcpy(&v, p, n);
        return v;
    };
    const char* p = text.data();
    const std::size_t n = text.size();
    std::uint64_t a = 0, b = 0;
    if (n >= 8) {
        a = load(p, 8);
        b = load(p + n - 8, 8);
    } else if (n >= 4) {
        a = load(p, 4);
        b = load(p + n - 4, 4);
    } else if (n > 0) {
        a = static_cast<unsigned char>(p[0]) | std::uint64_t{static_cast<unsigned char>(p[n / 2])}
                                                   << 8;
        b = static_cast<unsigned char>(p[n - 1]);
    }
    std::uint64_t h = (a * 0x9E3779B97F4A7C15ull) ^ (b + n) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    return {h, text};
}

// Up to this many keys are compared pair by pair (and left in their order); more are sorted.
inline constexpr std::size_t small_key_count = 16;

// One key present twice in `keys`, if any. Above small_key_count keys, `keys` is sorted first (by
// hash, then bytes): the worst case stays O(n log n) whatever keys a client crafts, with no
// allocation beyond `keys`.
std::optional<std::string_view> find_duplicate(std::span<hashed_key> keys);

// Whether `text` is among `keys`, as left by find_duplicate.
bool contains_key(std::span<const hashed_key> keys, std::string_view text) noexcept;

// An open-addressing table of names by hash: slots hold an index into `hashes` + 1 (0 = empty).
// A lookup walks one probe chain instead of every name.
void build_name_table(std::span<const std::uint64_t> hashes, std::vector<std::uint32_t>& slots);

// Calls f(index) for each name in `slots` whose hash is `hash` (the caller compares the bytes).
template <class F>
void for_each_hash_match(const std::vector<std::uint32_t>& slots,
                         std::span<const std::uint64_t> hashes, std::uint64_t hash, F&& f) {
    const std::size_t mask = slots.size() - 1;
    for (std::size_t slot = hash & mask; slots[slot] != 0; slot = (slot + 1) & mask) {
        const std::size_t i = slots[slot] - 1;
        if (hashes[i] == hash) f(i);
    }
}

}  // namespace shimgate
