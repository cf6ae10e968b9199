#include "proxy/forward_headers.hpp"

#include <boost/beast/core/string.hpp>
#include "proxy/errors.hpp"

#include <charconv>

namespace shimgate {
namespace {

namespace http = boost::beast::http;

constexpr std::string_view via_value = "1.1 shimgate";

// ASCII case-insensitive comparison (field names, tokens): Beast's.
using boost::beast::iequals;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Is `name` one of the comma-separated options of the message's Connection fields?
bool named_in_connection(std::string_view name, const http::fields& message) {
    for (auto it = message.find(http::field::connection);
         it != message.end() && it->name() == http::field::connection; ++it) {
        std::string_view list = it->value();
        while (!list.empty()) {
            auto comma = list.find(',');
            if (iequals(trim(list.substr(0, comma)), name)) return true;
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
    return iequals(name, "x-forwarded-for") || iequals(name, "x-forwarded-proto") ||
           iequals(name, "x-forwarded-host");
}

// `has_connection`: the message has a Connection field (looked up once per head, not per field).
bool dropped(const http::fields::value_type& f, const http::fields& message, bool has_connection) {
    if (f.name() != http::field::unknown) {
        if (always_dropped(f.name())) return true;
    } else if (is_forwarded_field(f.name_string())) {
        return true;
    }
    return has_connection && named_in_connection(f.name_string(), message);
}

bool has_connection_field(const http::fields& message) {
    return message.find(http::field::connection) != message.end();
}

// CR, LF or NUL: what must never reach a written head (one pass, no per-character search).
bool has_line_break_or_nul(std::string_view s) noexcept {
    for (char c : s) {
        // One comparison for the usual byte: all three are at or below '\r'.
        if (static_cast<unsigned char>(c) <= '\r' && (c == '\r' || c == '\n' || c == '\0'))
            return true;
    }
    return false;
}

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
void append_via(std::string& out, const http::fields& message) {
    out += "Via: ";
    for (auto it = message.find(http::field::via);
         it != message.end() && it->name() == http::field::via; ++it) {
        std::string_view v = trim(it->value());
        if (v.empty() || has_line_break_or_nul(v)) continue;
        out += v;
        out += ", ";
    }
    out += via_value;
    out += "\r\n";
}

}  // namespace

bool is_connection_specific(std::string_view name, const http::fields& message) {
    http::field f = http::string_to_field(name);
    if (f != http::field::unknown && always_dropped(f)) return true;
    if (f == http::field::unknown && is_forwarded_field(name)) return true;
    return named_in_connection(name, message);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    if (has_line_break_or_nul(value)) return;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
}

void write_upstream_head(std::string& out, std::string_view method, std::string_view target,
                         const http::fields& client, const forward_info& info, framing_spec body,
                         std::span<const std::string_view> drop, std::span<const header_pair> add) {
    out += method;
    out += ' ';
    out += target;
    out += " HTTP/1.1\r\n";
    append_field(out, "Host", info.upstream_host);
    const bool has_connection = has_connection_field(client);
    for (const auto& f : client) {
        if (dropped(f, client, has_connection)) continue;
        bool extra = false;
        for (std::string_view d : drop) extra = extra || iequals(f.name_string(), d);
        if (extra) continue;
        append_field(out, f.name_string(), f.value());
    }
    for (const auto& [name, value] : add) append_field(out, name, value);
    append_via(out, client);
    append_field(out, "X-Forwarded-For", info.peer_ip);
    append_field(out, "X-Forwarded-Proto", info.proto);
    if (!info.forwarded_host.empty()) {
        append_field(out, "X-Forwarded-Host", info.forwarded_host);
    } else if (auto host = client.find(http::field::host); host != client.end()) {
        append_field(out, "X-Forwarded-Host", trim(host->value()));
    }
    append_framing(out, body);
    out += "\r\n";
}

void write_client_head(std::string& out, unsigned status, std::string_view reason,
                       const http::fields* upstream, framing_spec body, bool keep_alive,
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
        for (const auto& f : *upstream) {
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
