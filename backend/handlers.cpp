#include "handlers.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <memory>
#include <system_error>

#include <simdjson.h>
#include <boost/beast/core/string.hpp>

namespace shimgate::backend {

namespace {

using namespace std::string_view_literals;

constexpr std::uint64_t max_slow_ms = 3'600'000;
constexpr std::size_t large_body = 1024 * 1024;

std::uint64_t fnv1a(std::string_view s, std::uint64_t seed = 0xcbf29ce484222325ULL) noexcept {
    std::uint64_t h = seed;
    for (const char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return h;
}

void append_hex(std::string& out, std::uint64_t v) {
    static constexpr std::string_view digits = "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4) {
        out.push_back(digits[static_cast<std::size_t>((v >> shift) & 0xfU)]);
    }
}

void append_uint(std::string& out, std::uint64_t v) {
    std::array<char, 24> buf{};
    const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out.append(buf.data(), res.ptr);
}

template <class T>
bool parse_uint(std::string_view s, T& out) noexcept {
    if (s.empty()) return false;
    const auto res = std::from_chars(s.data(), s.data() + s.size(), out);
    return res.ec == std::errc{} && res.ptr == s.data() + s.size();
}

std::string_view path_of(std::string_view target) noexcept {
    return target.substr(0, target.find('?'));
}

// The value of the first `name=value` pair of the query, if present.
std::optional<std::string_view> query_param(std::string_view target, std::string_view name) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == name) {
            return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

reply json_reply(unsigned status, std::string body) {
    reply r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

reply method_not_allowed(std::string_view allow) {
    reply r = error_reply(405, "method not allowed");
    r.headers.emplace_back(http::field::allow, allow);
    return r;
}

// Checks `Authorization: Token <t>` (scheme case-insensitive, exactly one such header).
bool authorized(const request_head& head, const state& st) {
    if (head.count(http::field::authorization) != 1) return false;
    std::string_view v = head[http::field::authorization];
    constexpr std::string_view scheme = "token";
    if (v.size() <= scheme.size() || !boost::beast::iequals(v.substr(0, scheme.size()), scheme)) {
        return false;
    }
    v.remove_prefix(scheme.size());
    if (v.front() != ' ' && v.front() != '\t') return false;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return !v.empty() && st.token_accepted(v);
}

reply unauthorized() {
    reply r = error_reply(401, "invalid or missing token");
    r.headers.emplace_back(http::field::www_authenticate, "Token"sv);
    return r;
}

// A field of a JSON update: absent, set to a raw JSON value, or cleared with null (RFC 7396).
struct patch_value {
    bool given = false;
    std::optional<std::string> raw;

    void apply(std::optional<std::string>& target) const {
        if (given) target = raw;
    }
};

enum class parse_status { ok, malformed, not_object };

struct json_parsers {
    simdjson::dom::parser dom;
    simdjson::ondemand::parser ondemand;
};

// The per-thread parsers, or for big bodies parsers of their own (held by `own`), so the
// per-thread ones stay small.
json_parsers& parsers_for(std::size_t size, std::unique_ptr<json_parsers>& own) {
    thread_local json_parsers parsers;
    if (size <= large_body) return parsers;
    own = std::make_unique<json_parsers>();
    return *own;
}

// Validates the whole body (DOM pass: simdjson On-Demand does not validate what it skips), then
// opens it On-Demand so raw value texts can be taken byte-for-byte.
parse_status open_object(std::string& body, json_parsers& parsers,
                         simdjson::ondemand::document& doc, simdjson::ondemand::object& obj) {
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    simdjson::dom::element root;
    if (parsers.dom.parse(body.data(), body.size(), false).get(root) != simdjson::SUCCESS) {
        return parse_status::malformed;
    }
    if (!root.is_object()) return parse_status::not_object;
    const simdjson::padded_string_view view(body.data(), body.size(), body.capacity());
    if (parsers.ondemand.iterate(view).get(doc) != simdjson::SUCCESS) {
        return parse_status::malformed;
    }
    if (doc.get_object().get(obj) != simdjson::SUCCESS) return parse_status::malformed;
    return parse_status::ok;
}

reply parse_failure(parse_status s) {
    return error_reply(
        400, s == parse_status::not_object ? "body must be a JSON object" : "malformed JSON body");
}

// The raw text of a value (trailing whitespace trimmed); consumes objects and arrays.
bool raw_text(simdjson::ondemand::value& value, std::string& out) {
    std::string_view raw;
    if (simdjson::to_json_string(value).get(raw) != simdjson::SUCCESS) return false;
    out.assign(raw);
    return true;
}

// ---------------------------------------------------------------------------------------------
// POST /api/update_customer/

struct customer_patch {
    std::string id;       // unescaped
    std::string id_json;  // raw token
    patch_value name;
    patch_value mapping;
    patch_value properties;
    bool demo_given = false;
    bool is_demo_group = false;
};

// Reads one optional field that must be of `type` (or null); returns an error message or "".
std::string_view read_typed(simdjson::ondemand::value& value, simdjson::ondemand::json_type type,
                            patch_value& out, std::string_view type_error) {
    simdjson::ondemand::json_type t{};
    if (value.type().get(t) != simdjson::SUCCESS) return "malformed JSON body";
    out.given = true;
    if (t == simdjson::ondemand::json_type::null) {
        out.raw.reset();
        return {};
    }
    if (t != type) return type_error;
    std::string raw;
    if (!raw_text(value, raw)) return "malformed JSON body";
    out.raw = std::move(raw);
    return {};
}

void render_customer(std::string& out, const customer_record& c) {
    const std::uint64_t h = fnv1a(c.token);
    out += R"({"success":1,"customer":{"customer_id":)";
    out += c.id_json;
    out += R"(,"team_id":113,"token":")";
    out += c.token;
    out += '"';
    if (c.name_json) {
        out += R"(,"name":)";
        out += *c.name_json;
    }
    if (c.mapping_json) {
        out += R"(,"mapping":)";
        out += *c.mapping_json;
    }
    if (c.properties_json) {
        out += R"(,"properties":)";
        out += *c.properties_json;
    }
    out += R"(,"api_environment_tag":"Customer","is_demo_group":)";
    out += c.is_demo_group ? "true" : "false";
    out += R"(,"password_hash":"pbkdf2_sha256$260000$fakesalt$)";
    append_hex(out, h);
    out += R"(","internal_shard":)";
    append_uint(out, h % 16);
    out += "}}";
}

reply update_customer(const request_head& head, std::string& body, state& st) {
    if (!authorized(head, st)) return unauthorized();
    std::unique_ptr<json_parsers> own;
    json_parsers& parsers = parsers_for(body.size(), own);
    simdjson::ondemand::document doc;
    simdjson::ondemand::object obj;
    if (const auto s = open_object(body, parsers, doc, obj); s != parse_status::ok) {
        return parse_failure(s);
    }

    customer_patch patch;
    bool have_id = false;
    for (auto field_result : obj) {
        simdjson::ondemand::field field;
        std::string_view key;
        if (std::move(field_result).get(field) != simdjson::SUCCESS ||
            field.unescaped_key().get(key) != simdjson::SUCCESS) {
            return error_reply(400, "malformed JSON body");
        }
        simdjson::ondemand::value value = field.value();
        std::string_view err;
        if (key == "customer_id") {
            have_id = false;
            simdjson::ondemand::json_type t{};
            if (value.type().get(t) != simdjson::SUCCESS)
                return parse_failure(parse_status::malformed);
            if (t != simdjson::ondemand::json_type::string) continue;
            patch.id_json.assign(simdjson::trim(value.raw_json_token()));
            std::string_view id;
            if (value.get_string().get(id) != simdjson::SUCCESS) {
                return parse_failure(parse_status::malformed);
            }
            patch.id.assign(id);
            have_id = !id.empty();
        } else if (key == "name") {
            err = read_typed(value, simdjson::ondemand::json_type::string, patch.name,
                             "name must be a string");
        } else if (key == "mapping") {
            err = read_typed(value, simdjson::ondemand::json_type::object, patch.mapping,
                             "mapping must be an object");
        } else if (key == "properties") {
            err = read_typed(value, simdjson::ondemand::json_type::object, patch.properties,
                             "properties must be an object");
        } else if (key == "is_demo_group") {
            simdjson::ondemand::json_type t{};
            if (value.type().get(t) != simdjson::SUCCESS)
                return parse_failure(parse_status::malformed);
            patch.demo_given = true;
            if (t == simdjson::ondemand::json_type::null) {
                patch.is_demo_group = false;
            } else if (t != simdjson::ondemand::json_type::boolean ||
                       value.get_bool().get(patch.is_demo_group) != simdjson::SUCCESS) {
                err = "is_demo_group must be a boolean";
            }
        }
        if (!err.empty()) return error_reply(400, err);
    }
    if (!have_id) return error_reply(400, "customer_id is required");

    reply r;
    r.body.reserve(256 + body.size());
    {
        const std::lock_guard lock(st.mutex);
        auto [it, inserted] = st.customers.try_emplace(patch.id);
        customer_record& c = it->second;
        if (inserted) {
            c.token = "cust_tok_";
            append_hex(c.token, fnv1a(patch.id));
        }
        c.id_json = std::move(patch.id_json);
        patch.name.apply(c.name_json);
        patch.mapping.apply(c.mapping_json);
        patch.properties.apply(c.properties_json);
        if (patch.demo_given) c.is_demo_group = patch.is_demo_group;
        render_customer(r.body, c);
    }
    return r;
}

// ---------------------------------------------------------------------------------------------
// PUT|GET /v1/users/{id}

void render_user(std::string& out, std::string_view id, const user_record& u) {
    out += R"({"id":)";
    append_json_string(out, id);
    for (std::size_t i = 1; i < user_field_names.size(); ++i) {
        if (!u.fields[i]) continue;
        out += ",\"";
        out += user_field_names[i];
        out += "\":";
        out += *u.fields[i];
    }
    out += R"(,"password_hash":"pbkdf2_sha256$260000$fakesalt$)";
    append_hex(out, fnv1a(id, 0x84222325cbf29ce4ULL));
    out += R"(","internal_flags":["x"]})";
}

reply put_user(const request_head& head, std::string_view id, std::string& body, state& st) {
    if (!authorized(head, st)) return unauthorized();
    std::unique_ptr<json_parsers> own;
    json_parsers& parsers = parsers_for(body.size(), own);
    simdjson::ondemand::document doc;
    simdjson::ondemand::object obj;
    if (const auto s = open_object(body, parsers, doc, obj); s != parse_status::ok) {
        return parse_failure(s);
    }

    std::array<patch_value, user_field_names.size()> patch{};
    for (auto field_result : obj) {
        simdjson::ondemand::field field;
        std::string_view key;
        if (std::move(field_result).get(field) != simdjson::SUCCESS ||
            field.unescaped_key().get(key) != simdjson::SUCCESS) {
            return error_reply(400, "malformed JSON body");
        }
        const auto* name = std::find(user_field_names.begin(), user_field_names.end(), key);
        if (name == user_field_names.end()) continue;  // unknown fields are ignored
        simdjson::ondemand::value value = field.value();
        if (name == user_field_names.begin()) {  // "id": null or the path id
            simdjson::ondemand::json_type t{};
            if (value.type().get(t) != simdjson::SUCCESS)
                return parse_failure(parse_status::malformed);
            if (t == simdjson::ondemand::json_type::null) continue;
            std::string_view body_id;
            if (t != simdjson::ondemand::json_type::string ||
                value.get_string().get(body_id) != simdjson::SUCCESS || body_id != id) {
                return error_reply(400, "id does not match the path");
            }
            continue;
        }
        patch_value& p = patch[static_cast<std::size_t>(name - user_field_names.begin())];
        p.given = true;
        simdjson::ondemand::json_type t{};
        if (value.type().get(t) != simdjson::SUCCESS) return parse_failure(parse_status::malformed);
        if (t == simdjson::ondemand::json_type::null) {
            p.raw.reset();
            continue;
        }
        std::string raw;
        if (!raw_text(value, raw)) return parse_failure(parse_status::malformed);
        p.raw = std::move(raw);
    }

    reply r;
    r.body.reserve(256 + body.size());
    {
        const std::lock_guard lock(st.mutex);
        user_record& u = st.users[std::string(id)];
        for (std::size_t i = 1; i < patch.size(); ++i) patch[i].apply(u.fields[i]);
        render_user(r.body, id, u);
    }
    return r;
}

reply get_user(const request_head& head, std::string_view id, state& st) {
    if (!authorized(head, st)) return unauthorized();
    reply r;
    {
        const std::lock_guard lock(st.mutex);
        const auto it = st.users.find(std::string(id));
        if (it == st.users.end()) return error_reply(404, "user not found");
        render_user(r.body, id, it->second);
    }
    return r;
}

// ---------------------------------------------------------------------------------------------
// Test helpers

reply echo(const request_head& head, std::uint64_t body_bytes) {
    reply r;
    r.body.reserve(256);
    r.body += R"({"method":)";
    append_json_string(r.body, head.method_string());
    r.body += R"(,"target":)";
    append_json_string(r.body, head.target());
    r.body += R"(,"headers":[)";
    bool first = true;
    for (const auto& f : head) {
        if (!first) r.body += ',';
        first = false;
        r.body += '[';
        append_json_string(r.body, f.name_string());
        r.body += ',';
        append_json_string(r.body, f.value());
        r.body += ']';
    }
    r.body += R"(],"body_bytes":)";
    append_uint(r.body, body_bytes);
    r.body += '}';
    return r;
}

reply bytes(const request_head& head, std::string_view count) {
    reply r;
    if (!parse_uint(count, r.stream_bytes)) return error_reply(400, "bad byte count");
    r.what = reply::kind::stream;
    r.content_type = "application/octet-stream";
    r.chunked = query_param(head.target(), "chunked") == "1";
    return r;
}

reply slow(const request_head& head) {
    std::uint64_t ms = 0;
    if (const auto v = query_param(head.target(), "ms")) {
        if (!parse_uint(*v, ms) || ms > max_slow_ms) return error_reply(400, "bad ms");
    }
    std::string body = R"({"slept_ms":)";
    append_uint(body, ms);
    body += '}';
    reply r = json_reply(200, std::move(body));
    r.delay_ms = ms;
    return r;
}

reply status(std::string_view code_text) {
    unsigned code = 0;
    if (!parse_uint(code_text, code) || code < 200 || code > 599) {
        return error_reply(400, "bad status code");
    }
    reply r;
    r.status = code;
    if (code == 204 || code == 304) {
        r.content_type = {};
        return r;
    }
    r.body = R"({"status":)";
    append_uint(r.body, code);
    r.body += '}';
    return r;
}

bool starts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

state::state(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {}

bool state::token_accepted(std::string_view token) const noexcept {
    return std::find(tokens_.begin(), tokens_.end(), token) != tokens_.end();
}

void append_json_string(std::string& out, std::string_view s) {
    static constexpr std::string_view hex = "0123456789abcdef";
    const bool utf8 = simdjson::validate_utf8(s.data(), s.size());
    out.push_back('"');
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
                    out += "\\u00";
                    out.push_back(hex[c >> 4]);
                    out.push_back(hex[c & 0xfU]);
                } else {
                    out.push_back(ch);
                }
        }
    }
    out.push_back('"');
}

reply error_reply(unsigned status, std::string_view message) {
    std::string body = R"({"success":0,"error":)";
    append_json_string(body, message);
    body += '}';
    return json_reply(status, std::move(body));
}

body_mode body_mode_for(const request_head& head) noexcept {
    const std::string_view path = path_of(head.target());
    const http::verb v = head.method();
    if ((v == http::verb::post && path == "/api/update_customer/") ||
        (v == http::verb::put && starts_with(path, "/v1/users/"))) {
        return body_mode::collect;
    }
    return body_mode::count;
}

reply handle(const request_head& head, std::string& body, std::uint64_t body_bytes, state& st) {
    const std::string_view path = path_of(head.target());
    const http::verb method = head.method();

    if (path == "/api/update_customer/") {
        if (method != http::verb::post) return method_not_allowed("POST");
        return update_customer(head, body, st);
    }
    if (starts_with(path, "/v1/users/")) {
        const std::string_view id = path.substr("/v1/users/"sv.size());
        if (id.empty() || id.find('/') != std::string_view::npos) {
            return error_reply(404, "not found");
        }
        if (method == http::verb::put) return put_user(head, id, body, st);
        if (method == http::verb::get || method == http::verb::head) return get_user(head, id, st);
        return method_not_allowed("GET, HEAD, PUT");
    }
    if (starts_with(path, "/echo")) return echo(head, body_bytes);
    if (path == "/upload") {
        std::string out = R"({"received":)";
        append_uint(out, body_bytes);
        out += '}';
        return json_reply(200, std::move(out));
    }
    if (path == "/stats") {
        std::string out = R"({"connections_accepted":)";
        append_uint(out, st.connections_accepted.load(std::memory_order_relaxed));
        out += R"(,"requests":)";
        append_uint(out, st.requests.load(std::memory_order_relaxed));
        out += '}';
        return json_reply(200, std::move(out));
    }
    if (starts_with(path, "/bytes/")) return bytes(head, path.substr("/bytes/"sv.size()));
    if (path == "/slow") return slow(head);
    if (starts_with(path, "/status/")) return status(path.substr("/status/"sv.size()));
    if (path == "/abort") {
        reply r;
        r.what = reply::kind::abort;
        r.content_type = "application/octet-stream";
        return r;
    }
    if (path == "/close-after") {
        reply r = json_reply(200, R"({"ok":1})");
        r.close = true;
        return r;
    }
    return error_reply(404, "not found");
}

}  // namespace shimgate::backend
