#include "proxy/forward_headers.hpp"

#include <boost/beast/core/string.hpp>
#include "proxy/errors.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace shimgate {
namespace {

namespace http = boost::beast::http;

constexpr std::string_view via_value = "1.1 shimgate";

// Is `name` one of the comma-separated options of the message's Connection fields?
bool named_in_connection(std::string_view name, const head_fields& message) {
    for (const field_view f : message) {
        if (f.name() != http::field::connection) continue;
        std::string_view list = f.value();
        while (!list.empty()) {
            auto comma = list.find(',');
            if (iequals_ascii(trim_ows(list.substr(0, comma)), name)) return true;
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
        }
    }
    return false;
}

bool always_dropped(http::field f) {
    switch (f) {
        // RFC 9110 §7.6.1 hop-by-hop fields, plus the framing fields the shim writes itself.
        case http::field::connection:
        case http::field::proxy_connection:
        case http::field::keep_alive:
        case http::field::te:
        case http::field::trailer:
        case http::field::transfer_encoding:
        case http::field::upgrade:
        case http::field::proxy_authorization:
        case http::field::proxy_authenticate:
        case http::field::content_length:
        // Rewritten by the shim.
        case http::field::host:
        case http::field::expect:
        case http::field::via:
        // The shim states the client's address in X-Forwarded-*; a client's own claim is dropped.
        case http::field::forwarded:
            return true;
        default:
            return false;
    }
}

// Beast 1.81's field table has no X-Forwarded-* entries: compare names.
bool is_forwarded_field(std::string_view name) {
    return same_name(name, "x-forwarded-for") || same_name(name, "x-forwarded-proto") ||
           same_name(name, "x-forwarded-host");
}

// `has_connection`: the message has a Connection field (looked up once per head, not per field).
bool dropped(const field_view& f, const head_fields& message, bool has_connection) {
    if (f.name() != http::field::unknown) {
        if (always_dropped(f.name())) return true;
    } else if (is_forwarded_field(f.name_string())) {
        return true;
    }
    return has_connection && named_in_connection(f.name_string(), message);
}

bool has_connection_field(const head_fields& message) {
    return message.contains(http::field::connection);
}

// Bit 7 of a byte of the result is set where a byte of `w` is CR, LF or NUL (exactly, as a
// whole: the result is non-zero if and only if `w` holds one).
std::uint64_t line_break_or_nul_bits(std::uint64_t w) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = ones * 0x80;
    const auto zero_byte = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
    return zero_byte(w) | zero_byte(w ^ (ones * '\r')) | zero_byte(w ^ (ones * '\n'));
}

}  // namespace

// CR, LF or NUL: what must never reach a written head. Sixteen bytes at a time (SSE2), or a word
// and its overlapping last word for shorter text.
bool has_line_break_or_nul(std::string_view s) noexcept {
    const char* p = s.data();
    const std::size_t n = s.size();
#if defined(__SSE2__)
    if (n >= 16) {
        const auto hit = [](const char* at) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
            const __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')),
                                                        _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
                                           _mm_cmpeq_epi8(v, _mm_setzero_si128()));
            return _mm_movemask_epi8(m) != 0;
        };
        for (std::size_t i = 0; i + 16 < n; i += 16)
            if (hit(p + i)) return true;
        return hit(p + n - 16);
    }
#endif
    if (n >= 8) {
        for (std::size_t i = 0; i + 8 < n; i += 8)
            if (line_break_or_nul_bits(detail::load8(p + i)) != 0) return true;
        return line_break_or_nul_bits(detail::load8(p + n - 8)) != 0;
    }
    if (n >= 4) {
        // Both halves in one word; a byte counted twice changes nothing.
        const std::uint64_t w = detail::load4(p) | std::uint64_t{detail::load4(p + n - 4)} << 32;
        return line_break_or_nul_bits(w) != 0;
    }
    for (std::size_t i = 0; i < n; ++i)
        if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0') return true;
    return false;
}

namespace {

void append_framing(std::string& out, framing_spec body) {
    if (body.kind == body_framing::length) {
        char digits[24];
        auto [end, ec] = std::to_chars(digits, digits + sizeof digits, body.length);
        append_field(out, "Content-Length",
                     std::string_view(digits, static_cast<std::size_t>(end - digits)));
    } else if (body.kind == body_framing::chunked) {
        append_field(out, "Transfer-Encoding", "chunked");
    }
}

// Via: the received values followed by ours, in one field.
void append_via(std::string& out, const head_fields& message) {
    out += "Via: ";
    for (const field_view f : message) {
        if (f.name() != http::field::via) continue;
        std::string_view v = trim_ows(f.value());
        if (v.empty() || has_line_break_or_nul(v)) continue;
        out += v;
        out += ", ";
    }
    out += via_value;
    out += "\r\n";
}

// X-Forwarded-For: every entry the trusted proxy sent (all its fields, in order), then the peer.
void append_forwarded_for(std::string& out, const head_fields& client, std::string_view peer) {
    out += "X-Forwarded-For: ";
    for (const field_view f : client) {
        if (f.name() != http::field::unknown || !same_name(f.name_string(), "x-forwarded-for"))
            continue;
        const std::string_view v = trim_ows(f.value());
        if (v.empty() || has_line_break_or_nul(v)) continue;
        out += v;
        out += ", ";
    }
    out += peer;
    out += "\r\n";
}

}  // namespace

bool is_connection_specific(std::string_view name, const head_fields& message) {
    http::field f = http::string_to_field(name);
    if (f != http::field::unknown && always_dropped(f)) return true;
    if (f == http::field::unknown && is_forwarded_field(name)) return true;
    return named_in_connection(name, message);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    if (has_line_break_or_nul(value)) return;
    // One size change and direct copies (four appends cost four calls, each with its own checks).
    const std::size_t at = out.size();
    out.resize(at + name.size() + value.size() + 4);
    char* p = out.data() + at;
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    p[0] = ':';
    p[1] = ' ';
    p += 2;
    std::memcpy(p, value.data(), value.size());
    p += value.size();
    p[0] = '\r';
    p[1] = '\n';
}

void write_upstream_head(std::string& out, std::string_view method, std::string_view target,
                         const head_fields& client, const forward_info& info, framing_spec body,
                         std::span<const std::string_view> drop, std::span<const header_pair> add) {
    out += method;
    out += ' ';
    out += target;
    out += " HTTP/1.1\r\n";
    append_field(out, "Host", info.upstream_host);
    const bool has_connection = has_connection_field(client);
    // From a trusted proxy: which of its X-Forwarded-* fields are kept (copied in the loop).
    bool kept_for = false, kept_proto = false, kept_host = false;
    for (const field_view f : client) {
        if (info.trusted_peer && f.name() == http::field::unknown &&
            is_forwarded_field(f.name_string()) &&
            !(has_connection && named_in_connection(f.name_string(), client))) {
            const std::string_view n = f.name_string();
            if (same_name(n, "x-forwarded-for")) {
                kept_for = true;  // joined with the peer below, in one field
                continue;
            }
            (same_name(n, "x-forwarded-proto") ? kept_proto : kept_host) = true;
            append_field(out, n, f.value());
            continue;
        }
        if (dropped(f, client, has_connection)) continue;
        bool extra = false;
        for (std::string_view d : drop) extra = extra || same_name(f.name_string(), d);
        if (extra) continue;
        append_field(out, f.name_string(), f.value());
    }
    for (const auto& [name, value] : add) append_field(out, name, value);
    append_via(out, client);
    if (kept_for) {
        append_forwarded_for(out, client, info.peer_ip);
    } else {
        append_field(out, "X-Forwarded-For", info.peer_ip);
    }
    if (!kept_proto) append_field(out, "X-Forwarded-Proto", info.proto);
    if (kept_host) {
        // the trusted proxy's, copied above
    } else if (!info.forwarded_host.empty()) {
        append_field(out, "X-Forwarded-Host", info.forwarded_host);
    } else if (client.contains(http::field::host)) {
        append_field(out, "X-Forwarded-Host", trim_ows(client[http::field::host]));
    }
    append_framing(out, body);
    out += "\r\n";
}

void write_client_head(std::string& out, unsigned status, std::string_view reason,
                       const head_fields* upstream, framing_spec body, bool keep_alive,
                       unsigned client_version, std::span<const header_pair> add) {
    char digits[8];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, status);
    out += "HTTP/1.1 ";
    out.append(digits, static_cast<std::size_t>(end - digits));
    out += ' ';
    out += reason.empty() ? reason_phrase(status) : reason;
    out += "\r\n";
    if (upstream) {
        const bool has_connection = has_connection_field(*upstream);
        for (const field_view f : *upstream) {
            if (dropped(f, *upstream, has_connection)) continue;
            append_field(out, f.name_string(), f.value());
        }
        append_via(out, *upstream);
    }
    for (const auto& [name, value] : add) append_field(out, name, value);
    append_framing(out, body);
    if (!keep_alive) {
        out += "Connection: close\r\n";
    } else if (client_version == 10) {
        out += "Connection: keep-alive\r\n";
    }
    out += "\r\n";
}

}  // namespace shimgate
