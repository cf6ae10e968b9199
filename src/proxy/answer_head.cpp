#include "proxy/answer_head.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <span>

namespace shimgate {

void write_own_answer_head(std::string& out, const own_answer& a) {
    std::array<header_pair, 7> add{};
    std::size_t n = 0;
    add[n++] = {"Content-Type", a.content_type};
    add[n++] = {request_id_field, a.request_id};
    if (!a.challenge.empty()) add[n++] = {"WWW-Authenticate", a.challenge};
    if (!a.retry_after.empty()) add[n++] = {"Retry-After", a.retry_after};
    if (a.route && a.route->deprecation.enabled) {
        const deprecation_rule& d = a.route->deprecation;
        add[n++] = {"Deprecation", d.deprecation_value};
        if (!d.sunset.empty()) add[n++] = {"Sunset", d.sunset};
        if (!d.link_value.empty()) add[n++] = {"Link", d.link_value};
    }
    write_client_head(out, a.status, {}, nullptr, {body_framing::length, a.body_size}, a.keep_alive,
                      a.client_version, std::span<const header_pair>(add.data(), n));
}

void make_challenge(const rule& r, std::string& out) {
    out.clear();
    for (const auto& src : r.accept) {
        for (const auto& scheme : src.schemes) {
            if (out.find(scheme) != std::string::npos) continue;
            if (!out.empty()) out += ", ";
            out += scheme;
            out += " realm=\"shimgate\"";
        }
    }
}

relay_plan plan_relay(bool head_request, unsigned status,
                      std::optional<std::uint64_t> content_length,
                      std::string_view content_length_field, unsigned client_version,
                      bool keep_alive) {
    relay_plan plan{{}, keep_alive};
    const bool no_body =
        head_request || status == 204 || status == 304 || (status >= 100 && status < 200);
    if (no_body) {
        std::uint64_t n = 0;
        const char* end = content_length_field.data() + content_length_field.size();
        if (head_request && !content_length_field.empty() &&
            std::from_chars(content_length_field.data(), end, n).ec == std::errc())
            plan.framing = {body_framing::length, n};
    } else if (content_length) {
        plan.framing = {body_framing::length, *content_length};
    } else if (client_version == 11) {
        plan.framing.kind = body_framing::chunked;
    } else {
        plan.framing.kind = body_framing::until_close;  // HTTP/1.0: the close ends it
        plan.keep_alive = false;
    }
    return plan;
}

piece_frame frame_piece(bool chunked, std::size_t size, bool last, char (&size_line)[24]) {
    if (!chunked) return {};
    piece_frame f;
    if (size) {
        auto [end, ec] = std::to_chars(size_line, size_line + 20, size, 16);
        *end++ = '\r';
        *end++ = '\n';
        f.prefix = {size_line, static_cast<std::size_t>(end - size_line)};
        f.suffix = last ? "\r\n0\r\n\r\n" : "\r\n";
    } else if (last) {
        f.suffix = "0\r\n\r\n";
    }
    return f;
}

void choose_request_id(std::string_view incoming, std::uint64_t random, std::string& out) {
    auto sane = [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '-' || c == '_' || c == '.' || c == ':';
    };
    if (!incoming.empty() && incoming.size() <= 128 &&
        std::all_of(incoming.begin(), incoming.end(), sane)) {
        out.assign(incoming);
        return;
    }
    static constexpr char hex[] = "0123456789abcdef";
    out.resize(16);
    for (char& c : out) {
        c = hex[random & 0xf];
        random >>= 4;
    }
}

}  // namespace shimgate
