// chunked_scan: the byte-by-byte check of a chunked body's framing (see the header).
#include "proxy/chunked_scan.hpp"

#include <algorithm>

namespace shimgate {

namespace {

bool is_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
unsigned hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
    return static_cast<unsigned>(c - 'A' + 10);
}
bool is_ws(char c) noexcept {
    return c == ' ' || c == '\t';
}
// tchar (RFC 9110 §5.6.2).
bool is_tchar(char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return false;
    }
}
// qdtext (RFC 9110 §5.6.4): HTAB, SP, VCHAR but '"' and '\', obs-text.
bool is_qdtext(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return c == '\t' || c == ' ' || (u >= 0x21 && u != '"' && u != '\\' && u != 0x7F);
}
// What a quoted-pair may escape: HTAB, SP, VCHAR, obs-text.
bool is_escapable(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return c == '\t' || c == ' ' || (u >= 0x21 && u != 0x7F);
}

}  // namespace

chunked_scan::verdict chunked_scan::feed(std::string_view bytes) noexcept {
    std::size_t i = 0;
    while (i < bytes.size() && verdict_ == verdict::more) {
        if (at_ == at::data) {
            const std::uint64_t skip = std::min<std::uint64_t>(size_, bytes.size() - i);
            i += static_cast<std::size_t>(skip);
            size_ -= skip;
            if (size_ == 0) at_ = at::data_cr;
            continue;
        }
        if (!step(bytes[i++])) break;
    }
    return verdict_;
}

bool chunked_scan::step(char c) noexcept {
    // A bare LF ends no line; a CR must be followed by LF (checked in the *_lf states).
    if (c == '\n' && at_ != at::line_lf && at_ != at::data_lf && at_ != at::trailer_lf &&
        at_ != at::final_lf)
        return fail("chunked body: line ends in a bare LF");
    switch (at_) {
        case at::size_start:
            if (!is_hex(c)) return fail("chunked body: bad chunk size");
            at_ = at::size;
            [[fallthrough]];
        case at::size:
            if (is_hex(c)) {
                if (size_ > (UINT64_MAX >> 4)) return fail("chunked body: chunk size too large");
                size_ = (size_ << 4) | hex_value(c);
                return true;
            }
            if (c == '\r') return go(at::line_lf);
            if (c == ';') return go(at::ext_name_start);
            if (is_ws(c)) return go(at::ext_bws);
            return fail("chunked body: bad chunk size");
        case at::ext_bws:
            if (is_ws(c)) return true;
            if (c == ';') return go(at::ext_name_start);
            if (c == '\r') return go(at::line_lf);
            return fail("chunked body: bad chunk extension");
        case at::ext_name_start:
            if (is_ws(c)) return true;
            if (!is_tchar(c)) return fail("chunked body: bad chunk extension");
            return go(at::ext_name);
        case at::ext_name:
            if (is_tchar(c)) return true;
            [[fallthrough]];
        case at::ext_after_name:
            if (is_ws(c)) return go(at::ext_after_name);
            if (c == '=') return go(at::ext_val_start);
            if (c == ';') return go(at::ext_name_start);
            if (c == '\r') return go(at::line_lf);
            return fail("chunked body: bad chunk extension");
        case at::ext_val_start:
            if (is_ws(c)) return true;
            if (c == '"') return go(at::ext_quoted);
            if (!is_tchar(c)) return fail("chunked body: bad chunk extension");
            return go(at::ext_token);
        case at::ext_token:
            if (is_tchar(c)) return true;
            at_ = at::ext_bws;
            return step(c);
        case at::ext_quoted:
            if (c == '"') return go(at::ext_bws);
            if (c == '\\') return go(at::ext_escape);
            if (!is_qdtext(c)) return fail("chunked body: bad chunk extension");
            return true;
        case at::ext_escape:
            if (!is_escapable(c)) return fail("chunked body: bad chunk extension");
            return go(at::ext_quoted);
        case at::line_lf:
            if (c != '\n') return fail("chunked body: CR without LF in a chunk line");
            return go(size_ == 0 ? at::trailer_start : at::data);
        case at::data:  // feed() skips data; a zero-size remainder never stays here
            return true;
        case at::data_cr:
            if (c != '\r') return fail("chunked body: chunk data longer than its size");
            return go(at::data_lf);
        case at::data_lf:
            if (c != '\n') return fail("chunked body: CR without LF after chunk data");
            return go(at::size_start);
        case at::trailer_start:
            if (c == '\r') return go(at::final_lf);
            if (is_ws(c)) return fail("chunked body: obs-fold in a trailer");
            at_ = at::trailer;
            [[fallthrough]];
        case at::trailer: {
            const auto u = static_cast<unsigned char>(c);
            if (c == '\r') return go(at::trailer_lf);
            if ((u < 0x20 && c != '\t') || u == 0x7F)
                return fail("chunked body: control character in a trailer");
            return true;
        }
        case at::trailer_lf:
            if (c != '\n') return fail("chunked body: CR without LF in a trailer");
            return go(at::trailer_start);
        case at::final_lf:
            if (c != '\n') return fail("chunked body: CR without LF at the end");
            at_ = at::end;
            verdict_ = verdict::done;
            return false;
        case at::end:
            return false;
    }
    return false;
}

}  // namespace shimgate
