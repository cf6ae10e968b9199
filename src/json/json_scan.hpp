#pragma once
// The strict RFC 8259 grammar, one forward pass, shared by check_json_value (json_validate.cpp)
// and the object reader (json_reader.cpp). Header-only so both inline it. Iterative and
// allocation-free: the open containers of one value are a bitset (1 = object), so a hostile
// nesting depth costs a refusal, never the stack. Problems are short static strings.
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "json/json_validate.hpp"

namespace shimgate::detail {

inline bool is_json_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

inline int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Eight bytes from `p`, the first in the low byte whatever the machine's byte order.
inline std::uint64_t load_le64(const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    if constexpr (std::endian::native == std::endian::big) {
        std::uint64_t r = 0;
        for (int i = 0; i < 8; ++i) r = (r << 8) | ((v >> (8 * i)) & 0xFF);
        v = r;
    }
    return v;
}

// Bit 7 of each byte of the result is set where `v`'s byte is < 0x20, '"', '\\' or >= 0x80: the
// bytes a string scan must look at. A set bit may be a false positive only above (after) a true
// one, so the lowest set bit always marks the first such byte.
inline std::uint64_t string_stop_mask(std::uint64_t v) {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t high = 0x8080808080808080ull;
    const auto zero_byte = [](std::uint64_t x) { return (x - ones) & ~x & high; };
    const std::uint64_t control = (v - ones * 0x20) & ~v & high;
    return control | zero_byte(v ^ (ones * '"')) | zero_byte(v ^ (ones * '\\')) | (v & high);
}

// Whether no byte of `s` needs escaping in a JSON string (see string_stop_mask): a few
// overlapping word loads for short text, sixteen bytes at a time beyond.
bool is_plain(std::string_view s);

class json_scanner {
  public:
    explicit json_scanner(std::string_view s, std::size_t pos = 0) : s_(s), pos_(pos) {}

    std::size_t pos() const { return pos_; }
    void set_pos(std::size_t p) { pos_ = p; }
    bool at_end() const { return pos_ == s_.size(); }
    char peek() const { return s_[pos_]; }  // only when !at_end()

    void skip_ws() {
        while (pos_ < s_.size()) {
            const char c = s_[pos_];
            if (static_cast<unsigned char>(c) > ' ' || !is_json_ws(c)) break;
            ++pos_;
        }
    }

    static json_kind kind_of(char c) {
        switch (c) {
            case '{':
                return json_kind::object;
            case '[':
                return json_kind::array;
            case '"':
                return json_kind::string;
            case 't':
            case 'f':
                return json_kind::boolean;
            case 'n':
                return json_kind::null;
            default:
                return json_kind::number;
        }
    }

    // One complete value starting at pos() (no leading whitespace), nested containers included;
    // pos() ends just past it. nullptr, or what is wrong (then the scanner is spent).
    const char* value() {
        depth_ = 0;
        for (;;) {
            // state: a value is expected
            if (pos_ == s_.size()) return "unexpected end of value";
            const char c = s_[pos_];
            if (c == '{' || c == '[') {
                if (depth_ == max_json_depth) return "nesting deeper than 1024 levels";
                set_top(depth_++, c == '{');
                ++pos_;
                skip_ws();
                if (pos_ < s_.size() && s_[pos_] == (c == '{' ? '}' : ']')) {
                    ++pos_;
                    --depth_;
                } else if (c == '{') {
                    if (const char* p = key_and_colon()) return p;
                    continue;
                } else {
                    continue;
                }
            } else if (const char* p = scalar(c)) {
                return p;
            }
            // state: after a value
            for (;;) {
                if (depth_ == 0) return nullptr;
                skip_ws();
                if (pos_ == s_.size()) return "unexpected end of value";
                const char d = s_[pos_];
                const bool in_object = top();
                if (d == ',') {
                    ++pos_;
                    skip_ws();
                    if (in_object) {
                        if (const char* p = key_and_colon()) return p;
                    }
                    break;  // a value is expected
                }
                if (d == (in_object ? '}' : ']')) {
                    ++pos_;
                    --depth_;
                    continue;
                }
                return in_object ? "expected ',' or '}'" : "expected ',' or ']'";
            }
        }
    }

    // A string token starting at pos() (the opening quote); pos() ends past the closing quote.
    // `escaped` tells whether it holds a backslash. The common case (plain text, closed within
    // the next words) stays in this loop; escapes, UTF-8 and errors go to special().
    [[gnu::always_inline]] inline const char* string(bool& escaped) {
        const char* const data = s_.data();
        const std::size_t n = s_.size();
        std::size_t p = pos_ + 1;  // past the opening quote
        for (;;) {
            p = skip_plain(data, n, p);
            if (p >= n) {
                pos_ = n;
                return "unterminated string";
            }
            if (data[p] == '"') {
                pos_ = p + 1;
                return nullptr;
            }
            pos_ = p;
            if (const char* problem = special(escaped)) return problem;
            p = pos_;
        }
    }

    static bool needs_look(unsigned char c) {
        return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
    }

    // The first position from `p` (inside a string) holding a byte string() must look at, or
    // `n`. SSE2 sixteen bytes at a time where available, else eight with string_stop_mask.
    static std::size_t skip_plain(const char* data, std::size_t n, std::size_t p) {
#if defined(__SSE2__)
        const __m128i quote = _mm_set1_epi8('"');
        const __m128i slash = _mm_set1_epi8('\\');
        const __m128i space = _mm_set1_epi8(0x20);
        // Signed compare: bytes 0x00-0x1f and 0x80-0xff (negative) are both "below a space".
        const auto stops = [&](__m128i v) {
            const __m128i hit =
                _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                             _mm_cmplt_epi8(v, space));
            return static_cast<unsigned>(_mm_movemask_epi8(hit));
        };
        while (p + 16 <= n) {
            const unsigned m = stops(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + p)));
            if (m != 0) return p + static_cast<std::size_t>(std::countr_zero(m));
            p += 16;
        }
        if (p < n && n >= 16) {
            // The text's last sixteen bytes, from data[p] on; bit n - p marks the end.
            const unsigned m =
                (stops(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + n - 16))) >>
                 (p + 16 - n)) |
                (1u << (n - p));
            return p + static_cast<std::size_t>(std::countr_zero(m));
        }
#else
        while (p + 8 <= n) {
            const std::uint64_t stop = string_stop_mask(load_le64(data + p));
            if (stop != 0) return p + static_cast<std::size_t>(std::countr_zero(stop)) / 8;
            p += 8;
        }
#endif
        while (p < n && !needs_look(static_cast<unsigned char>(data[p]))) ++p;
        return p;
    }

  private:
    // The byte at pos() inside a string: a control character (refused), UTF-8 or an escape
    // (checked and stepped over).
    [[gnu::noinline]] const char* special(bool& escaped) {
        const auto c = static_cast<unsigned char>(s_[pos_]);
        if (c < 0x20) return "unescaped control character in string";
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence_length(s_, pos_);
            if (n == 0) return "invalid UTF-8 in string";
            pos_ += n;
            return nullptr;
        }
        escaped = true;  // c == '\\'
        return escape();
    }

    // A key string, then ':' (whitespace around it skipped).
    const char* key_and_colon() {
        if (pos_ == s_.size() || s_[pos_] != '"') return "expected a key";
        bool escaped = false;
        if (const char* p = string(escaped)) return p;
        skip_ws();
        if (pos_ == s_.size() || s_[pos_] != ':') return "expected ':'";
        ++pos_;
        skip_ws();
        return nullptr;
    }

    const char* scalar(char c) {
        bool escaped = false;
        if (c == '"') return string(escaped);
        if (c == 't') return literal("true");
        if (c == 'f') return literal("false");
        if (c == 'n') return literal("null");
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        return "unexpected character";
    }

    void set_top(std::size_t level, bool is_object) {
        const std::uint64_t bit = std::uint64_t{1} << (level % 64);
        std::uint64_t& word = stack_[level / 64];
        word = is_object ? (word | bit) : (word & ~bit);
    }
    bool top() const {
        const std::size_t level = depth_ - 1;
        return (stack_[level / 64] >> (level % 64)) & 1u;
    }

    const char* literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) return "invalid literal";
        pos_ += word.size();
        return nullptr;
    }

    std::size_t digits() {
        const std::size_t start = pos_;
        while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
        return pos_ - start;
    }

    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?  (RFC 8259 §6); the text is kept, not
    // converted.
    const char* number() {
        if (s_[pos_] == '-') ++pos_;
        if (pos_ == s_.size()) return "invalid number";
        if (s_[pos_] == '0') {
            ++pos_;
        } else if (digits() == 0) {
            return "invalid number";
        }
        if (pos_ < s_.size() && s_[pos_] == '.') {
            ++pos_;
            if (digits() == 0) return "invalid number";
        }
        if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
            if (digits() == 0) return "invalid number";
        }
        return nullptr;
    }

    // Reads 4 hex digits at s_[at]; -1 if they are not there.
    long hex4(std::size_t at) const {
        if (at + 4 > s_.size()) return -1;
        long v = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const int h = hex_digit_value(s_[at + k]);
            if (h < 0) return -1;
            v = v * 16 + h;
        }
        return v;
    }

    // The escape at pos() (a backslash); pos() ends past it.
    const char* escape() {
        if (pos_ + 1 == s_.size()) return "unterminated string";
        const char e = s_[pos_ + 1];
        if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
            e == 't') {
            pos_ += 2;
            return nullptr;
        }
        if (e != 'u') return "invalid escape in string";
        const long cp = hex4(pos_ + 2);
        if (cp < 0) return "invalid \\u escape in string";
        if (cp >= 0xDC00 && cp <= 0xDFFF) return "unpaired surrogate in string";
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by an escaped low surrogate (RFC 8259 §7).
            if (pos_ + 8 > s_.size() || s_[pos_ + 6] != '\\' || s_[pos_ + 7] != 'u')
                return "unpaired surrogate in string";
            const long low = hex4(pos_ + 8);
            if (low < 0xDC00 || low > 0xDFFF) return "unpaired surrogate in string";
            pos_ += 12;
            return nullptr;
        }
        pos_ += 6;
        return nullptr;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    std::size_t depth_ = 0;
    // Open containers of the value being scanned (value() starts and ends at depth 0).
    std::array<std::uint64_t, max_json_depth / 64> stack_{};
};

inline bool is_plain(std::string_view s) {
    const char* p = s.data();
    const std::size_t n = s.size();
    if (n >= 16) return json_scanner::skip_plain(p, n, 0) == n;
    if (n >= 8)
        return (string_stop_mask(load_le64(p)) | string_stop_mask(load_le64(p + n - 8))) == 0;
    if (n >= 4) {
        std::uint32_t a, b;
        std::memcpy(&a, p, 4);
        std::memcpy(&b, p + n - 4, 4);
        // Whether any byte is flagged does not depend on the byte order.
        return string_stop_mask(a | std::uint64_t{b} << 32) == 0;
    }
    for (std::size_t i = 0; i < n; ++i)
        if (json_scanner::needs_look(static_cast<unsigned char>(p[i]))) return false;
    return true;
}

}  // namespace shimgate::detail
