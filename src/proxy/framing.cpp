#include "proxy/framing.hpp"

#include <algorithm>

namespace shimgate {
namespace {

namespace http = boost::beast::http;

constexpr head_verdict bad(std::string_view why) {
    return {400, why, refusal_reason::framing};
}

// 414 (the request line) or 431 (the field block).
constexpr head_verdict too_large(unsigned status, std::string_view why) {
    return {status, why, refusal_reason::head_too_large};
}

// RFC 9112 §2.2 asks a server to ignore at least one empty line before a request line; a few are
// tolerated, an endless stream of them is not (it would grow the buffer without limit).
constexpr std::size_t max_leading_empty_lines = 4;

std::size_t skip_leading_empty_lines(std::string_view bytes) {
    std::size_t i = 0;
    while (i + 1 < bytes.size() && bytes[i] == '\r' && bytes[i + 1] == '\n') i += 2;
    return i;
}

// A Host value: uri-host [ ":" port ], no userinfo, path, whitespace or controls.
bool valid_host(std::string_view v) {
    if (v.empty()) return false;
    return std::all_of(v.begin(), v.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        // RFC 3986 host characters (reg-name, IP literal brackets) and ':' for the port.
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("-._~!$&'()*+,;=:[]%").find(static_cast<char>(c)) !=
                   std::string_view::npos;
    });
}

}  // namespace

std::size_t find_head_end(std::string_view bytes) noexcept {
    std::size_t start = skip_leading_empty_lines(bytes);
    auto pos = bytes.find("\r\n\r\n", start);
    return pos == std::string_view::npos ? 0 : pos + 4;
}

head_verdict check_partial_head(std::string_view buffered, const head_limits& limits) noexcept {
    std::size_t blank = skip_leading_empty_lines(buffered);
    if (blank > max_leading_empty_lines * 2) return bad("too many empty lines before the request");
    std::string_view rest = buffered.substr(blank);
    // A head using bare LF line ends would never show CRLFCRLF: refuse it as soon as it is seen.
    for (auto lf = rest.find('\n'); lf != std::string_view::npos; lf = rest.find('\n', lf + 1)) {
        if (lf == 0 || rest[lf - 1] != '\r') return bad("bare LF in request head");
    }
    auto eol = rest.find('\n');
    if (eol == std::string_view::npos) {
        if (rest.size() > limits.max_request_line) return too_large(414, "request line too long");
        return {};
    }
    if (eol + 1 > limits.max_request_line + 2) return too_large(414, "request line too long");
    if (rest.size() - (eol + 1) > limits.max_header_bytes + 2)
        return too_large(431, "header block too large");
    return {};
}

head_verdict check_raw_head(std::string_view head, const head_limits& limits) noexcept {
    std::size_t blank = skip_leading_empty_lines(head);
    if (blank > max_leading_empty_lines * 2) return bad("too many empty lines before the request");
    head.remove_prefix(blank);
    // Every line must end in CRLF: no bare CR, no bare LF.
    for (std::size_t i = 0; i < head.size(); ++i) {
        char c = head[i];
        if (c == '\n' && (i == 0 || head[i - 1] != '\r')) return bad("bare LF in request head");
        if (c == '\r' && (i + 1 >= head.size() || head[i + 1] != '\n'))
            return bad("bare CR in request head");
        if (c == '\0') return bad("NUL in request head");
    }
    auto line_end = head.find("\r\n");
    if (line_end > limits.max_request_line) return too_large(414, "request line too long");
    std::string_view request_line = head.substr(0, line_end);
    for (char ch : request_line) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) return bad("control character in request line");
    }
    std::string_view fields = head.substr(line_end + 2);  // field lines + final CRLF
    if (fields.size() - 2 > limits.max_header_bytes)
        return too_large(431, "header block too large");

    std::size_t count = 0;
    while (fields.size() > 2) {
        auto end = fields.find("\r\n");
        std::string_view line = fields.substr(0, end);
        fields.remove_prefix(end + 2);
        if (++count > limits.max_header_fields) return too_large(431, "too many header fields");
        if (line.front() == ' ' || line.front() == '\t') return bad("obsolete line folding");
        auto colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos) return bad("malformed header field");
        for (std::size_t i = 0; i < colon; ++i) {
            // Also refuses whitespace between the name and the colon (RFC 9112 §5.1).
            if (!is_tchar(static_cast<unsigned char>(line[i])))
                return bad("invalid header field name");
        }
        for (std::size_t i = colon + 1; i < line.size(); ++i) {
            if (!is_field_value_char(static_cast<unsigned char>(line[i])))
                return bad("control character in header value");
        }
    }
    return {};
}

head_verdict check_head_limits(std::string_view head, std::size_t fields,
                               const head_limits& limits) noexcept {
    std::size_t blank = skip_leading_empty_lines(head);
    if (blank > max_leading_empty_lines * 2) return bad("too many empty lines before the request");
    head.remove_prefix(blank);
    const std::size_t line_end = head.find("\r\n");
    if (line_end > limits.max_request_line) return too_large(414, "request line too long");
    if (head.size() - line_end - 4 > limits.max_header_bytes)
        return too_large(431, "header block too large");
    if (fields > limits.max_header_fields) return too_large(431, "too many header fields");
    return {};
}

head_verdict check_request_framing(const request_head& h) noexcept {
    if (h.version() != 11 && h.version() != 10)
        return {505, "unsupported HTTP version", refusal_reason::framing};
    if (h.method() == http::verb::connect)
        return {405, "CONNECT is not supported", refusal_reason::framing};

    std::size_t hosts = 0, lengths = 0, encodings = 0;
    std::string_view host, length, encoding;
    for (const auto& f : h) {
        switch (f.name()) {
            case http::field::host:
                ++hosts, host = f.value();
                break;
            case http::field::content_length:
                ++lengths, length = f.value();
                break;
            case http::field::transfer_encoding:
                ++encodings, encoding = f.value();
                break;
            default:
                break;
        }
    }
    if (h.version() == 11 && hosts == 0) return bad("missing Host");
    if (hosts > 1) return bad("repeated Host");
    if (hosts == 1 && !valid_host(trim_ows(host))) return bad("invalid Host");

    if (lengths > 1) return bad("repeated Content-Length");
    if (lengths == 1) {
        std::string_view v = trim_ows(length);
        if (v.empty() || v.size() > 19 ||
            !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return bad("invalid Content-Length");
    }
    if (encodings > 0) {
        if (lengths > 0) return bad("Content-Length with Transfer-Encoding");
        if (h.version() == 10) return bad("Transfer-Encoding in HTTP/1.0");
        if (encodings > 1 || !iequals_ascii(trim_ows(encoding), "chunked"))
            return bad("Transfer-Encoding other than chunked");
    }

    std::string_view target = h.target();
    if (target.empty()) return bad("empty request target");
    if (target.find('#') != std::string_view::npos) return bad("fragment in request target");
    if (target == "*") {
        if (h.method() != http::verb::options)
            return bad("asterisk-form target on a method other than OPTIONS");
    } else if (target.front() != '/') {
        // absolute-form only (authority-form belongs to CONNECT, refused above)
        auto scheme_end = target.find("://");
        if (scheme_end == std::string_view::npos) return bad("invalid request target");
        std::string_view scheme = target.substr(0, scheme_end);
        if (!iequals_ascii(scheme, "http") && !iequals_ascii(scheme, "https"))
            return bad("invalid request target");
        // The authority replaces Host (RFC 9112 §3.2.2): the same syntax, no userinfo.
        std::string_view rest = target.substr(scheme_end + 3);
        if (!valid_host(rest.substr(0, rest.find_first_of("/?"))))
            return bad("invalid authority in request target");
    }
    return {};
}

head_verdict check_expect(const request_head& h) noexcept {
    const std::string_view expect = h[http::field::expect];
    if (expect.empty() || (iequals_ascii(expect, "100-continue") && h.version() == 11)) return {};
    return {417, "unsupported Expect", refusal_reason::framing};
}

bool continue_expected(const request_head& h, std::size_t buffered, bool body_pending) noexcept {
    return buffered == 0 && body_pending && !h[http::field::expect].empty();
}

}  // namespace shimgate
