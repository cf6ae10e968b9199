#include "proxy/auth.hpp"

#include <boost/beast/core/string.hpp>

#include "proxy/answer_head.hpp"

namespace shimgate {
namespace {

namespace http = boost::beast::http;

// `"Authorization: Token <token>" or "Authorization: Bearer <token>"`: what the client should send.
std::string expected(const rule& r) {
    std::string out;
    for (const auto& src : r.accept) {
        for (const auto& scheme : src.schemes) {
            if (!out.empty()) out += " or ";
            out += '"' + src.header + ": " + scheme + " <token>\"";
        }
    }
    return out;
}

refusal unauthorized(const rule& r, std::string_view what) {
    return refusal{401, std::string(what) + ": expected " + expected(r), refusal_reason::auth};
}

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

// Tokens are opaque to the shim but go upstream verbatim: visible ASCII only.
bool is_token_char(char c) {
    return c > 0x20 && c < 0x7F;
}

}  // namespace

result<std::string_view> authenticate(const rule& r, const head_fields& headers,
                                      std::span<const std::string> credential_headers) {
    const credential_source* source = nullptr;
    std::string_view value;
    std::size_t count = 0;   // the rule's own credential headers
    std::size_t others = 0;  // credential headers of other dialects
    for (const field_view f : headers) {
        bool own = false;
        for (const auto& src : r.accept) {
            if (!same_name(f.name_string(), src.header)) continue;
            ++count;
            own = true;
            source = &src;
            value = f.value();
        }
        if (own) continue;
        for (const auto& name : credential_headers) {
            if (!same_name(f.name_string(), name)) continue;
            ++others;
            break;
        }
    }
    // Two credentials could be read differently by the shim and the upstream: refuse both.
    if (count + others > 1)
        return refusal{400, "two credential headers: send exactly one of " + expected(r),
                       refusal_reason::auth};
    if (count == 0) return unauthorized(r, "missing credential");

    std::size_t i = 0;
    while (i < value.size() && is_space(value[i])) ++i;
    std::size_t scheme_end = i;
    while (scheme_end < value.size() && !is_space(value[scheme_end])) ++scheme_end;
    const std::string_view scheme = value.substr(i, scheme_end - i);
    bool known = false;
    for (const auto& s : source->schemes) known = known || iequals_ascii(s, scheme);
    if (!known)
        return unauthorized(r, "malformed " + source->header + " credential (wrong scheme)");

    i = scheme_end;
    while (i < value.size() && is_space(value[i])) ++i;
    std::string_view token = value.substr(i);
    while (!token.empty() && is_space(token.back())) token.remove_suffix(1);
    if (token.empty())
        return unauthorized(r, "malformed " + source->header + " credential (empty token)");
    for (char c : token)
        if (!is_token_char(c))
            return unauthorized(r,
                                "malformed " + source->header +
                                    " credential (whitespace or control character in the token)");
    return token;
}

void relayed_challenge(const rule& r, const head_fields& upstream_headers, std::string& out) {
    out.clear();
    for (const field_view f : upstream_headers) {
        if (f.name() != http::field::www_authenticate || f.value().empty()) continue;
        if (!out.empty()) out += ", ";
        out += f.value();
    }
    if (out.empty()) make_challenge(r, out);
}

std::optional<refusal> check_content_type(const head_fields& headers) {
    std::size_t count = headers.count(http::field::content_type);
    if (count == 0)
        return std::nullopt;  // the seeds' clients always send JSON; absent reads as JSON
    if (count > 1) return refusal{400, "two Content-Type headers", refusal_reason::framing};

    const std::string_view value = headers[http::field::content_type];
    std::string_view type = value.substr(0, value.find(';'));
    while (!type.empty() && is_space(type.front())) type.remove_prefix(1);
    while (!type.empty() && is_space(type.back())) type.remove_suffix(1);

    const auto slash = type.find('/');
    const bool json =
        slash != std::string_view::npos && slash > 0 &&
        (iequals_ascii(type, "application/json") ||
         (type.size() - slash - 1 > 5 && iequals_ascii(type.substr(type.size() - 5), "+json")));
    if (json) return std::nullopt;
    constexpr std::size_t max_echo = 64;  // enough to recognise the type, bounded in the answer
    return refusal{415,
                   "unsupported Content-Type \"" + std::string(type.substr(0, max_echo)) +
                       "\": expected application/json",
                   refusal_reason::content_type};
}

std::optional<refusal> check_content_encoding(const head_fields& headers) {
    const std::string_view enc = headers[http::field::content_encoding];
    if (enc.empty() || iequals_ascii(enc, "identity")) return std::nullopt;
    return refusal{415, "unsupported Content-Encoding \"" + std::string(enc) + "\": send identity",
                   refusal_reason::content_type};
}

}  // namespace shimgate
