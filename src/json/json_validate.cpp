// Strict, iterative JSON validation (see json_validate.hpp for why the shim needs its own).
// One forward pass over the bytes, no allocation, no recursion: the open containers are a bitset
// (1 = object) so a hostile nesting depth costs a refusal, never the stack.
#include "json/json_validate.hpp"

#include <array>
#include <cstdint>

namespace shimgate {
namespace {

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

class validator {
  public:
    explicit validator(std::string_view s) : s_(s) {}

    json_value_check run() {
        json_value_check r;
        skip_ws();
        if (pos_ == s_.size()) return fail(r, "empty value");
        const std::size_t begin = pos_;
        r.kind = kind_of(s_[pos_]);

        enum class state { value, key, after } st = state::value;
        for (;;) {
            switch (st) {
                case state::value: {
                    if (pos_ == s_.size()) return fail(r, "unexpected end of value");
                    const char c = s_[pos_];
                    if (c == '{' || c == '[') {
                        if (depth_ == max_json_depth)
                            return fail(r, "nesting deeper than 1024 levels");
                        set_top(depth_++, c == '{');
                        ++pos_;
                        skip_ws();
                        if (pos_ < s_.size() && s_[pos_] == (c == '{' ? '}' : ']')) {
                            ++pos_;
                            --depth_;
                            st = state::after;
                        } else {
                            st = c == '{' ? state::key : state::value;
                        }
                        continue;
                    }
                    const char* problem = nullptr;
                    if (c == '"')
                        problem = string();
                    else if (c == 't')
                        problem = literal("true");
                    else if (c == 'f')
                        problem = literal("false");
                    else if (c == 'n')
                        problem = literal("null");
                    else if (c == '-' || is_digit(c))
                        problem = number();
                    else
                        problem = "unexpected character";
                    if (problem) return fail(r, problem);
                    st = state::after;
                    continue;
                }
                case state::key: {
                    if (pos_ == s_.size() || s_[pos_] != '"') return fail(r, "expected a key");
                    if (const char* problem = string()) return fail(r, problem);
                    skip_ws();
                    if (pos_ == s_.size() || s_[pos_] != ':') return fail(r, "expected ':'");
                    ++pos_;
                    skip_ws();
                    st = state::value;
                    continue;
                }
                case state::after: {
                    if (depth_ == 0) {
                        const std::size_t end = pos_;
                        skip_ws();
                        if (pos_ != s_.size()) return fail(r, "unexpected text after a value");
                        r.ok = true;
                        r.text = s_.substr(begin, end - begin);
                        return r;
                    }
                    skip_ws();
                    if (pos_ == s_.size()) return fail(r, "unexpected end of value");
                    const char c = s_[pos_];
                    const bool in_object = top();
                    if (c == ',') {
                        ++pos_;
                        skip_ws();
                        st = in_object ? state::key : state::value;
                        continue;
                    }
                    if (c == (in_object ? '}' : ']')) {
                        ++pos_;
                        --depth_;
                        continue;  // still state::after
                    }
                    return fail(r, in_object ? "expected ',' or '}'" : "expected ',' or ']'");
                }
            }
        }
    }

  private:
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

    static json_value_check& fail(json_value_check& r, std::string_view problem) {
        r.ok = false;
        r.problem = problem;
        return r;
    }

    void skip_ws() {
        while (pos_ < s_.size() && is_ws(s_[pos_])) ++pos_;
    }

    void set_top(std::size_t level, bool is_object) {
        const std::uint64_t bit = std::uint64_t{1} << (level % 64);
        if (is_object)
            stack_[level / 64] |= bit;
        else
            stack_[level / 64] &= ~bit;
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

    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?  (RFC 8259 §6); the text is kept, not
    // converted.
    const char* number() {
        auto digits = [&] {
            const std::size_t start = pos_;
            while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
            return pos_ - start;
        };
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

    // Reads 4 hex digits after "\u" at s_[at]; -1 if they are not there.
    long hex4(std::size_t at) const {
        if (at + 4 > s_.size()) return -1;
        long v = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const int h = hex_value(s_[at + k]);
            if (h < 0) return -1;
            v = v * 16 + h;
        }
        return v;
    }

    const char* string() {
        ++pos_;  // opening quote
        for (;;) {
            // Fast path: printable ASCII other than '"' and '\\'.
            while (pos_ < s_.size()) {
                const auto c = static_cast<unsigned char>(s_[pos_]);
                if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
                ++pos_;
            }
            if (pos_ == s_.size()) return "unterminated string";
            const auto c = static_cast<unsigned char>(s_[pos_]);
            if (c == '"') {
                ++pos_;
                return nullptr;
            }
            if (c < 0x20) return "unescaped control character in string";
            if (c >= 0x80) {
                const std::size_t n = utf8_sequence_length(s_, pos_);
                if (n == 0) return "invalid UTF-8 in string";
                pos_ += n;
                continue;
            }
            // c == '\\'
            if (pos_ + 1 == s_.size()) return "unterminated string";
            const char e = s_[pos_ + 1];
            if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
                e == 't') {
                pos_ += 2;
                continue;
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
                continue;
            }
            pos_ += 6;
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    std::size_t depth_ = 0;
    std::array<std::uint64_t, max_json_depth / 64> stack_{};
};

}  // namespace

json_value_check check_json_value(std::string_view text) noexcept {
    return validator(text).run();
}

std::string_view trim_json_whitespace(std::string_view s) noexcept {
    while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
    return s;
}

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
    auto at = [&](std::size_t k) -> unsigned {
        return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u;
    };
    auto cont = [](unsigned c, unsigned lo = 0x80, unsigned hi = 0xBF) {
        return c >= lo && c <= hi;
    };
    const unsigned c = at(i);
    if (c >= 0xC2 && c <= 0xDF) return cont(at(i + 1)) ? 2 : 0;
    if (c == 0xE0) return cont(at(i + 1), 0xA0) && cont(at(i + 2)) ? 3 : 0;
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
        return cont(at(i + 1)) && cont(at(i + 2)) ? 3 : 0;
    if (c == 0xED) return cont(at(i + 1), 0x80, 0x9F) && cont(at(i + 2)) ? 3 : 0;
    if (c == 0xF0) return cont(at(i + 1), 0x90) && cont(at(i + 2)) && cont(at(i + 3)) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3)
        return cont(at(i + 1)) && cont(at(i + 2)) && cont(at(i + 3)) ? 4 : 0;
    if (c == 0xF4) return cont(at(i + 1), 0x80, 0x8F) && cont(at(i + 2)) && cont(at(i + 3)) ? 4 : 0;
    return 0;
}

bool is_empty_container(std::string_view text) noexcept {
    if (text.size() < 2 || (text.front() != '{' && text.front() != '[')) return false;
    return trim_json_whitespace(text.substr(1, text.size() - 2)).empty();
}

}  // namespace shimgate
