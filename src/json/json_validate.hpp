#pragma once
// A strict RFC 8259 validator for JSON text the shim copies without re-serialising it. The grammar
// (json_scan.hpp) is shared with the object reader (json_reader.hpp), which applies it to every
// byte of a body member by member; check_json_value applies it to one standalone value.
#include <cstddef>
#include <string_view>

namespace shimgate {

enum class json_kind : unsigned char { object, array, string, number, boolean, null };

// Nesting limit of one checked value (1 = a flat object or array). Deeper is refused, not crashed:
// the validator is iterative, its stack a fixed bitset.
inline constexpr std::size_t max_json_depth = 1024;

struct json_value_check {
    bool ok = false;
    json_kind kind = json_kind::null;  // of the value, from its first character
    std::string_view text;             // the value without surrounding whitespace
    std::string_view problem;          // when !ok: what is wrong ("invalid number", ...)
};

// `text` must hold exactly one JSON value, optionally surrounded by JSON whitespace. Checks the
// full grammar: literals, numbers, escapes (\u surrogates must pair), UTF-8, control characters,
// matching brackets, commas and colons.
json_value_check check_json_value(std::string_view text) noexcept;

// JSON whitespace (space, tab, LF, CR) removed from both ends.
std::string_view trim_json_whitespace(std::string_view s) noexcept;

// Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), 0 if invalid
// (overlong forms, surrogates, code points above U+10FFFF; RFC 3629 §4).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

// "": an empty object or array (whitespace inside allowed); `text` is a checked value.
bool is_empty_container(std::string_view text) noexcept;

}  // namespace shimgate
