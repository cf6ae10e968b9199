#include "proxy/path.hpp"

#include <vector>

namespace shimgate {
namespace {

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_unreserved(char c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

constexpr char upper_hex[] = "0123456789ABCDEF";

// RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool is_scheme(std::string_view s) {
    if (s.empty() || !is_alpha(s[0])) return false;
    for (char c : s)
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
    return true;
}

split_target split_path_query(std::string_view path_and_query) {
    split_target out;
    const auto q = path_and_query.find('?');
    if (q == std::string_view::npos) {
        out.path = path_and_query;
    } else {
        out.path = path_and_query.substr(0, q);
        out.query = path_and_query.substr(q + 1);
        out.has_query = true;
    }
    return out;
}

// Step 1 of normalisation: percent-encoding normalised (unreserved decoded, the rest kept with
// upper-case hex) and repeated slashes merged. Returns false on malformed or forbidden input.
bool decode_unreserved(std::string_view in, std::string& out) {
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte == 0x7F) return false;  // controls, space, NUL: never a valid path
        if (c == '%') {
            if (i + 2 >= in.size()) return false;
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return false;
            const char decoded = static_cast<char>(hi * 16 + lo);
            i += 2;
            if (decoded == '\0') return false;
            if (is_unreserved(decoded)) {
                out.push_back(decoded);
            } else {
                // Kept encoded: decoding '/', '?', '%' ... would change what the path means.
                out.push_back('%');
                out.push_back(upper_hex[hi]);
                out.push_back(upper_hex[lo]);
            }
            continue;
        }
        if (c == '/' && !out.empty() && out.back() == '/') continue;
        out.push_back(c);
    }
    return true;
}

}  // namespace

std::optional<split_target> split_request_target(std::string_view target) {
    if (target.empty()) return std::nullopt;
    if (target.front() == '/') return split_path_query(target);

    // absolute-form: scheme "://" authority [ path-abempty ] [ "?" query ]
    const auto colon = target.find("://");
    if (colon == std::string_view::npos || !is_scheme(target.substr(0, colon))) return std::nullopt;
    const std::string_view rest = target.substr(colon + 3);
    const auto authority_end = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, authority_end);
    if (authority.empty()) return std::nullopt;
    if (authority_end == std::string_view::npos) return split_target{"/", {}, false};
    if (rest[authority_end] == '#') return std::nullopt;  // a fragment is never part of a target
    if (rest[authority_end] == '?') {
        split_target out;
        out.path = "/";
        out.query = rest.substr(authority_end + 1);
        out.has_query = true;
        return out;
    }
    return split_path_query(rest.substr(authority_end));
}

namespace {

// A path normalisation would return unchanged: no percent-encoding, no byte it refuses, no empty,
// "." or ".." segment. Most requests' paths, checked in one pass and copied as they are.
bool already_normal(std::string_view path) {
    if (path.empty() || path.front() != '/') return false;
    for (std::size_t i = 0; i < path.size(); ++i) {
        const auto byte = static_cast<unsigned char>(path[i]);
        if (byte <= 0x20 || byte == 0x7F || byte == '%') return false;
        if (byte != '/') continue;
        std::string_view next = path.substr(i + 1, 3);
        if (next.starts_with('/') || next == "." || next.starts_with("./") || next == ".." ||
            next.starts_with("../"))
            return false;
    }
    return true;
}

}  // namespace

bool normalize_path(std::string_view path, std::string& out) {
    out.clear();
    if (already_normal(path)) {
        out.assign(path);
        return true;
    }
    auto slow = normalize_path(path);
    if (!slow) return false;
    out = std::move(*slow);
    return true;
}

std::optional<std::string> normalize_path(std::string_view path) {
    if (path.empty() || path.front() != '/') return std::nullopt;
    std::string decoded;
    if (!decode_unreserved(path, decoded)) return std::nullopt;

    // RFC 3986 §5.2.4 over whole segments; ".." above the root stays at the root. A dot segment
    // at the end leaves a trailing slash ("/a/b/.." -> "/a/").
    std::vector<std::string_view> segments;
    const std::string_view body = std::string_view(decoded).substr(1);
    std::size_t start = 0;
    while (true) {
        const auto slash = body.find('/', start);
        const std::string_view seg = body.substr(start, slash - start);
        const bool last = slash == std::string_view::npos;
        if (seg == "." || seg == "..") {
            if (seg == ".." && !segments.empty()) segments.pop_back();
            if (last) segments.emplace_back();
        } else {
            segments.push_back(seg);
        }
        if (last) break;
        start = slash + 1;
    }

    // Never empty: the last segment always leaves an entry, so the result starts with '/'.
    std::string out;
    out.reserve(decoded.size());
    for (const auto seg : segments) {
        out.push_back('/');
        out.append(seg);
    }
    return out;
}

}  // namespace shimgate
