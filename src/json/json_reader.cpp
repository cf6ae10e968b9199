#include "json/json_reader.hpp"

namespace shimgate {

bool json_object_reader::open() noexcept {
    scan_.skip_ws();
    if (scan_.at_end() || scan_.peek() != '{') return false;
    scan_.set_pos(scan_.pos() + 1);
    open_ = 1;
    opened_ = true;
    first_ = true;
    return true;
}

bool json_object_reader::close_object() noexcept {
    scan_.set_pos(scan_.pos() + 1);
    --open_;
    first_ = false;
    if (open_ == 0) {
        scan_.skip_ws();
        if (!scan_.at_end()) return fail("trailing content after the object");
    }
    return false;
}

bool json_object_reader::enter_object(json_member& m) noexcept {
    if (!problem_.empty()) return false;
    if (scan_.at_end()) return fail("unexpected end of value", true);
    m.kind = detail::json_scanner::kind_of(scan_.peek());
    if (m.kind != json_kind::object) return false;
    scan_.set_pos(scan_.pos() + 1);
    ++open_;
    first_ = true;
    return true;
}

bool json_object_reader::string_content(const json_member& m, std::string_view& out) noexcept {
    return member_string(m, scratch_, text_.size(), out);
}

bool unescape_into(std::string& scratch, std::size_t text_size, std::string_view token,
                   std::string_view& out) noexcept {
    // Unescaped text is never longer than its token and each token is unescaped at most once, so
    // reserving the text's size at the first one keeps every view valid. Should a caller unescape
    // a token twice past that, it is refused rather than left with a dangling view.
    if (scratch.empty() && scratch.capacity() < text_size) scratch.reserve(text_size);
    if (scratch.size() + token.size() > scratch.capacity()) return false;
    const std::size_t begin = scratch.size();
    append_unescaped(scratch, token);
    out = std::string_view(scratch).substr(begin);
    return true;
}

bool member_string(const json_member& m, std::string& scratch, std::size_t text_size,
                   std::string_view& out) noexcept {
    if (m.kind != json_kind::string) return false;
    if (m.escaped_value) return unescape_into(scratch, text_size, m.value, out);
    out = m.value.substr(1, m.value.size() - 2);
    return true;
}

void append_unescaped(std::string& out, std::string_view token) {
    const std::string_view s = token.substr(1, token.size() - 2);
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t slash = s.find('\\', i);
        if (slash == std::string_view::npos) {
            out.append(s.substr(i));
            break;
        }
        out.append(s.substr(i, slash - i));
        const char e = s[slash + 1];
        i = slash + 2;
        switch (e) {
            case 'b':
                out.push_back('\b');
                continue;
            case 'f':
                out.push_back('\f');
                continue;
            case 'n':
                out.push_back('\n');
                continue;
            case 'r':
                out.push_back('\r');
                continue;
            case 't':
                out.push_back('\t');
                continue;
            case 'u':
                break;
            default:  // '"', '\\', '/'
                out.push_back(e);
                continue;
        }
        const auto hex4 = [&](std::size_t at) {
            unsigned v = 0;
            for (std::size_t k = at; k < at + 4; ++k)
                v = v * 16 + static_cast<unsigned>(detail::hex_digit_value(s[k]));
            return v;
        };
        unsigned cp = hex4(i);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // checked: an escaped low surrogate follows
            cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(i + 2) - 0xDC00);
            i += 6;
        }
        const auto byte = [&](unsigned b) { out.push_back(static_cast<char>(b)); };
        if (cp < 0x80) {
            byte(cp);
        } else if (cp < 0x800) {
            byte(0xC0 | (cp >> 6));
            byte(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            byte(0xE0 | (cp >> 12));
            byte(0x80 | ((cp >> 6) & 0x3F));
            byte(0x80 | (cp & 0x3F));
        } else {
            byte(0xF0 | (cp >> 18));
            byte(0x80 | ((cp >> 12) & 0x3F));
            byte(0x80 | ((cp >> 6) & 0x3F));
            byte(0x80 | (cp & 0x3F));
        }
    }
}

}  // namespace shimgate
