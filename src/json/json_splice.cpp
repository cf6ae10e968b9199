// Splicing instead of parse-and-reserialise: the key and value bytes of the input are located with
// simdjson On-Demand (one forward pass over its structural index) and then copied as they are, so
// numbers keep their exact text (1e400, -0, 0.10000000000000000001), strings their escapes and
// order is kept. Validity is not left to On-Demand's laziness: every span handed out here has
// passed check_json_value (the full RFC 8259 grammar), keys included.
#include "json/json_splice.hpp"

#include <algorithm>
#include <cstdint>

namespace shimgate {
namespace ondemand = simdjson::ondemand;

namespace {

// The key token of `f`, quotes included. On-Demand gives a pointer just past the opening quote;
// stage 1 has already proven the string closed, so scanning to the next unescaped quote stays in
// the buffer.
std::string_view raw_key_of(const ondemand::field& f) noexcept {
    const char* begin = reinterpret_cast<const char*>(f.key().raw());
    const char* p = begin;
    while (*p != '"') p += (*p == '\\') ? 2 : 1;
    return std::string_view(begin - 1, static_cast<std::size_t>(p + 1 - (begin - 1)));
}

}  // namespace

splice_error read_key(ondemand::field& f, spliced_member& m) noexcept {
    m.raw_key = raw_key_of(f);
    const json_value_check key_check = check_json_value(m.raw_key);
    if (!key_check.ok) return {simdjson::SUCCESS, key_check.problem};
    if (key_check.kind != json_kind::string) return {simdjson::SUCCESS, "expected a key"};
    if (auto err = f.unescaped_key().get(m.key)) return {err, {}};
    return {};
}

splice_error read_member(ondemand::field& f, spliced_member& m) noexcept {
    if (auto e = read_key(f, m)) return e;
    return read_value(f, m);
}

splice_error read_value(ondemand::field& f, spliced_member& m) noexcept {
    ondemand::value& v = f.value();
    m.handle = &v;
    std::string_view raw = v.raw_json_token();
    if (raw.empty()) return {simdjson::TAPE_ERROR, {}};
    if (raw.front() == '{') {
        ondemand::object o;
        if (auto err = v.get_object().get(o)) return {err, {}};
        if (auto err = o.raw_json().get(raw)) return {err, {}};
    } else if (raw.front() == '[') {
        ondemand::array a;
        if (auto err = v.get_array().get(a)) return {err, {}};
        if (auto err = a.raw_json().get(raw)) return {err, {}};
    }
    // raw_json_token / raw_json run up to the next structural character: trailing whitespace
    // is part of them, and check_json_value trims it.
    m.value = check_json_value(raw);
    if (!m.value.ok) return {simdjson::SUCCESS, m.value.problem};
    return {};
}

simdjson::error_code unescaped_string(spliced_member& m, std::string_view& out) noexcept {
    const std::string_view t = m.value.text;
    if (t.find('\\') == std::string_view::npos) {
        out = t.substr(1, t.size() - 2);
        return simdjson::SUCCESS;
    }
    return m.handle->get_string().get(out);
}

hashed_key make_hashed_key(std::string_view text) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ull;
    }
    return {h, text};
}

namespace {
struct key_less {
    bool operator()(const hashed_key& a, const hashed_key& b) const noexcept {
        return a.hash != b.hash ? a.hash < b.hash : a.text < b.text;
    }
};
}  // namespace

std::optional<std::string_view> find_duplicate(std::span<hashed_key> keys) {
    std::sort(keys.begin(), keys.end(), key_less{});
    const auto it =
        std::adjacent_find(keys.begin(), keys.end(), [](const hashed_key& a, const hashed_key& b) {
            return a.hash == b.hash && a.text == b.text;
        });
    if (it == keys.end()) return std::nullopt;
    return it->text;
}

bool contains_key(std::span<const hashed_key> sorted, std::string_view text) noexcept {
    return std::binary_search(sorted.begin(), sorted.end(), make_hashed_key(text), key_less{});
}

}  // namespace shimgate
