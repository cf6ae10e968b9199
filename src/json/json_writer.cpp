// JSON string escaping for the text the shim writes itself. Valid UTF-8 passes through untouched
// (no \u escaping of non-ASCII: smaller, and byte-identical to what clients usually send); bytes
// that are not valid UTF-8 are replaced by U+FFFD because RFC 8259 §8.1 requires UTF-8 and a
// message may quote client-supplied bytes (a path parameter, a key).
#include "json/json_writer.hpp"

#include <cstddef>
#include <cstring>

#include "json/json_scan.hpp"
#include "json/json_validate.hpp"

namespace shimgate {

bool is_plain_json_text(std::string_view s) noexcept {
    return detail::is_plain(s);
}

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    if (detail::is_plain(s)) {
        // Nothing to escape (every key name the shim writes): one resize, one copy.
        const std::size_t at = out.size();
        out.resize(at + s.size() + 2);
        char* p = out.data() + at;
        p[0] = '"';
        if (!s.empty()) std::memcpy(p + 1, s.data(), s.size());
        p[s.size() + 1] = '"';
        return;
    }
    out.reserve(out.size() + s.size() + 2);
    out.push_back('"');
    std::size_t i = 0;
    while (i < s.size()) {
        // Copy the longest run that needs no escaping in one append.
        const std::size_t run = detail::json_scanner::skip_plain(s.data(), s.size(), i);
        out.append(s.data() + i, run - i);
        i = run;
        if (i == s.size()) break;

        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence_length(s, i);
            if (n == 0) {
                out.append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
                ++i;
            } else {
                out.append(s.data() + i, n);
                i += n;
            }
            continue;
        }
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\b':
                out.append("\\b");
                break;
            case '\f':
                out.append("\\f");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            default:
                out.append("\\u00");
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 0xF]);
        }
        ++i;
    }
    out.push_back('"');
}

}  // namespace shimgate
