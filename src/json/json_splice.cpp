// Splicing instead of parse-and-reserialise: the key and value bytes of the input are located by
// the strict reader (json_reader.hpp) and copied as they are, so numbers keep their exact text
// (1e400, -0, 0.10000000000000000001), strings their escapes, and order is kept. This file holds
// the key bookkeeping both stages share.
#include "json/json_splice.hpp"

#include <algorithm>
#include <cstdint>

namespace shimgate {

namespace {
struct key_less {
    bool operator()(const hashed_key& a, const hashed_key& b) const noexcept {
        return a.hash != b.hash ? a.hash < b.hash : a.text < b.text;
    }
};
}  // namespace

std::optional<std::string_view> find_duplicate(std::span<hashed_key> keys) {
    if (keys.size() <= small_key_count) {
        // Few keys (every documented body): comparing each pair costs less than sorting.
        for (std::size_t i = 1; i < keys.size(); ++i) {
            for (std::size_t j = 0; j < i; ++j) {
                if (keys[i].hash == keys[j].hash && keys[i].text == keys[j].text)
                    return keys[i].text;
            }
        }
        return std::nullopt;
    }
    std::sort(keys.begin(), keys.end(), key_less{});
    const auto it =
        std::adjacent_find(keys.begin(), keys.end(), [](const hashed_key& a, const hashed_key& b) {
            return a.hash == b.hash && a.text == b.text;
        });
    if (it == keys.end()) return std::nullopt;
    return it->text;
}

void build_name_table(std::span<const std::uint64_t> hashes, std::vector<std::uint32_t>& slots) {
    std::size_t size = 8;
    while (size < 2 * hashes.size()) size *= 2;
    slots.assign(size, 0);
    for (std::size_t i = 0; i < hashes.size(); ++i) {
        std::size_t slot = hashes[i] & (size - 1);
        while (slots[slot] != 0) slot = (slot + 1) & (size - 1);
        slots[slot] = static_cast<std::uint32_t>(i + 1);
    }
}

bool contains_key(std::span<const hashed_key> keys, std::string_view text) noexcept {
    const hashed_key k = make_hashed_key(text);
    if (keys.size() <= small_key_count) {
        for (const hashed_key& h : keys)
            if (h.hash == k.hash && h.text == text) return true;
        return false;
    }
    return std::binary_search(keys.begin(), keys.end(), k, key_less{});
}

}  // namespace shimgate
