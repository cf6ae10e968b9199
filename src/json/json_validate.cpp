// Strict, iterative JSON validation (see json_validate.hpp for why the shim needs its own). The
// grammar itself is json_scan.hpp's, shared with the object reader.
#include "json/json_validate.hpp"

#include "json/json_scan.hpp"

namespace shimgate {

json_value_check check_json_value(std::string_view text) noexcept {
    json_value_check r;
    detail::json_scanner scan(text);
    scan.skip_ws();
    if (scan.at_end()) {
        r.problem = "empty value";
        return r;
    }
    const std::size_t begin = scan.pos();
    r.kind = detail::json_scanner::kind_of(scan.peek());
    if (const char* problem = scan.value()) {
        r.problem = problem;
        return r;
    }
    const std::size_t end = scan.pos();
    scan.skip_ws();
    if (!scan.at_end()) {
        r.problem = "unexpected text after a value";
        return r;
    }
    r.ok = true;
    r.text = text.substr(begin, end - begin);
    return r;
}

std::string_view trim_json_whitespace(std::string_view s) noexcept {
    while (!s.empty() && detail::is_json_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && detail::is_json_ws(s.back())) s.remove_suffix(1);
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
