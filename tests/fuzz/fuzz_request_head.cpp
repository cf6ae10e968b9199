// fuzz_request_head: raw bytes from a client -> the request stages of net/session.cpp
// (read_head, handle_request, translate / pass_through up to write_upstream_head), in the same
// order and with the same parser settings, minus the sockets.
//
// The differential invariant (the smuggling defence): whenever the shim would forward, the head it
// writes upstream, parsed again by a fresh Beast parser, is exactly one request head, consumed
// whole, with the framing the shim meant (Content-Length n, chunked, or no body) and never both
// Content-Length and Transfer-Encoding; no field value carries CR, LF or NUL; and the head passes
// the shim's own strict checks (check_raw_head, check_request_framing), so a second shimgate in
// front of the upstream would accept it too. Header hygiene (contract §2) is checked on the way:
// one Host (the upstream's), one X-Forwarded-For / -Proto (ours), no hop-by-hop field, nothing the
// client's Connection named, and on translated routes exactly one credential header.
//
// Also: a head refused by check_partial_head while incomplete must be refused by check_raw_head
// once complete (the verdict must not depend on how TCP split the bytes), and Beast must consume
// the whole head (no byte of it left over to be read as a body or a second request).
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "json/json_writer.hpp"
#include "proxy/auth.hpp"
#include "proxy/forward_headers.hpp"
#include "proxy/framing.hpp"
#include "proxy/head_parser.hpp"
#include "proxy/path.hpp"
#include "proxy/request_transform.hpp"
#include "proxy/route.hpp"

namespace http = boost::beast::http;
namespace net = boost::asio;
using namespace shimgate;

namespace {

constexpr std::string_view peer_ip = "192.0.2.7";
constexpr std::string_view upstream_host = "127.0.0.1:9090";
constexpr std::string_view request_id_field = "X-Request-Id";  // as net/session.cpp
constexpr std::string_view request_id = "fuzz-0001";

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
        if (x != y) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// As net/session.cpp.
std::string_view absolute_authority(std::string_view target) {
    auto scheme_end = target.find("://");
    if (target.empty() || target.front() == '/' || scheme_end == std::string_view::npos) return {};
    std::string_view rest = target.substr(scheme_end + 3);
    return rest.substr(0, rest.find_first_of("/?"));
}

// The Connection options of the client's head (names that must not be forwarded).
std::vector<std::string> connection_options(const head_fields& f) {
    std::vector<std::string> out;
    for (const field_view field : f) {
        if (field.name() != http::field::connection) continue;
        std::string_view list = field.value();
        while (!list.empty()) {
            auto comma = list.find(',');
            auto item = trim(list.substr(0, comma));
            if (!item.empty()) out.emplace_back(item);
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
        }
    }
    return out;
}

struct expectation {
    std::string_view method;
    std::string_view target;
    framing_spec body;
    const std::vector<std::string>* client_connection_options;
    std::string_view credential;  // translated: the one Authorization value expected; else empty
    const head_fields* client;
};

// The upstream head, parsed again, frames exactly one request as intended.
void verify_upstream_head(const std::string& out, const expectation& want, std::string_view input) {
    fuzz::trace("upstream head", out);
    auto ctx = [&] {
        return "\nupstream head:\n" + fuzz::show(out) + "\nclient bytes:\n" + fuzz::show(input);
    };

    http::request_parser<http::empty_body> p;
    p.eager(false);
    p.header_limit(static_cast<std::uint32_t>(out.size() + 1));
    p.body_limit(boost::none);
    boost::beast::error_code ec;
    std::size_t used = p.put(net::buffer(out.data(), out.size()), ec);
    FUZZ_CHECK(!ec, "Beast cannot parse the upstream head: " + ec.message() + ctx());
    FUZZ_CHECK(p.is_header_done(), "upstream head incomplete" + ctx());
    FUZZ_CHECK(used == out.size(), "upstream head not consumed whole (" + std::to_string(used) +
                                       " of " + std::to_string(out.size()) + ")" + ctx());
    const auto& req = p.get();
    FUZZ_CHECK(req.method_string() == want.method, "method changed" + ctx());
    FUZZ_CHECK(req.target() == want.target, "target changed" + ctx());
    FUZZ_CHECK(req.version() == 11, "not HTTP/1.1" + ctx());

    std::size_t cl = 0, te = 0, host = 0, xff = 0, xfp = 0, xfh = 0, auth = 0;
    for (const auto& f : req) {
        std::string_view name = f.name_string(), value = f.value();
        FUZZ_CHECK(!name.empty(), "empty field name" + ctx());
        FUZZ_CHECK(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos,
                   "CR/LF/NUL in the value of " + std::string(name) + ctx());
        switch (f.name()) {
            case http::field::content_length:
                ++cl;
                break;
            case http::field::transfer_encoding:
                ++te;
                break;
            case http::field::host:
                ++host;
                FUZZ_CHECK(value == upstream_host, "Host is not the upstream's" + ctx());
                break;
            case http::field::connection:
            case http::field::keep_alive:
            case http::field::proxy_connection:
            case http::field::te:
            case http::field::trailer:
            case http::field::upgrade:
            case http::field::proxy_authorization:
            case http::field::forwarded:
            case http::field::expect:
                FUZZ_CHECK(false, "hop-by-hop field " + std::string(name) + " forwarded" + ctx());
                break;
            case http::field::authorization:
                ++auth;
                break;
            default:
                break;
        }
        if (iequals(name, "x-forwarded-for")) {
            ++xff;
            FUZZ_CHECK(value == peer_ip, "X-Forwarded-For is not the peer" + ctx());
        }
        if (iequals(name, "x-forwarded-proto")) ++xfp;
        if (iequals(name, "x-forwarded-host")) {
            ++xfh;
            // The same syntax the shim demands of Host (framing.cpp valid_host): an absolute-form
            // target's authority replaces Host (RFC 9112 §3.2.2), so it must pass the same check.
            bool valid = !value.empty();
            for (char ch : value) {
                auto c = static_cast<unsigned char>(ch);
                valid = valid && c > 0x20 && c < 0x7f && c != '/' && c != '@' && c != '?' &&
                        c != '#' && c != '\\';
            }
            FUZZ_KNOWN("absolute-authority", valid,
                       "X-Forwarded-Host is not a valid host: " + fuzz::show(value) + ctx());
        }
        for (const auto& opt : *want.client_connection_options) {
            // Names the shim adds itself may legitimately reappear.
            bool ours = iequals(name, "host") || iequals(name, "via") ||
                        iequals(name, "x-forwarded-for") || iequals(name, "x-forwarded-proto") ||
                        iequals(name, "x-forwarded-host") || iequals(name, "content-length") ||
                        iequals(name, "transfer-encoding") || iequals(name, request_id_field) ||
                        (!want.credential.empty() &&
                         (iequals(name, "authorization") || iequals(name, "content-type") ||
                          iequals(name, "accept-encoding")));
            FUZZ_CHECK(ours || !iequals(name, opt),
                       "field named in the client's Connection forwarded: " + opt + ctx());
        }
        if (!want.credential.empty())
            FUZZ_CHECK(!iequals(name, "explo-authorization"),
                       "client credential header reached the upstream" + ctx());
    }
    FUZZ_CHECK(!(cl && te), "both Content-Length and Transfer-Encoding" + ctx());
    FUZZ_CHECK(cl <= 1 && te <= 1, "repeated framing field" + ctx());
    FUZZ_CHECK(host == 1, "not exactly one Host" + ctx());
    FUZZ_CHECK(xff == 1 && xfp == 1 && xfh <= 1, "X-Forwarded-* not replaced" + ctx());
    if (!want.credential.empty()) {
        FUZZ_CHECK(auth == 1, "not exactly one credential header" + ctx());
        FUZZ_CHECK(req[http::field::authorization] == want.credential,
                   "credential changed" + ctx());
    }
    switch (want.body.kind) {
        case body_framing::none:
            FUZZ_CHECK(!cl && !te && p.is_done(), "a body-less request gained framing" + ctx());
            break;
        case body_framing::length:
            FUZZ_CHECK(cl == 1 && p.content_length() && *p.content_length() == want.body.length,
                       "Content-Length differs from what the shim sends" + ctx());
            break;
        case body_framing::chunked:
            FUZZ_CHECK(te == 1 && p.chunked(), "chunked body not framed as chunked" + ctx());
            break;
        case body_framing::until_close:
            FUZZ_CHECK(false, "a request framed until close" + ctx());
    }
    // A second shimgate would accept it: our own strict checks, with room for the added fields.
    head_limits big{1 << 20, 1 << 20, 10000};
    auto raw = check_raw_head(out, big);
    FUZZ_CHECK(raw.ok(),
               "the upstream head fails check_raw_head: " + std::string(raw.reason) + ctx());
    request_head again;
    request_flat_parser flat(again);
    flat.eager(false);
    flat.header_limit(static_cast<std::uint32_t>(out.size() + 1));
    flat.body_limit(boost::none);  // as the session parses a head: limits come with the route
    flat.put(net::buffer(out.data(), out.size()), ec);
    FUZZ_CHECK(!ec && flat.is_header_done(),
               "the session's parser refuses the upstream head" + ctx());
    auto framing = check_request_framing(flat.get());
    FUZZ_CHECK(framing.ok(), "the upstream head fails check_request_framing: " +
                                 std::string(framing.reason) + ctx());
}

// A body the rule accepts, from the path parameters (the head target does not fuzz bodies).
std::string canned_body(const rule& r, const path_params& params) {
    std::string id = "example_1";
    for (const auto& [n, v] : params)
        if (n == "id") id = v;
    std::string body = "{";
    bool first = true;
    for (const auto& f : r.fields) {
        if (!f.required && f.name != "id") continue;
        if (!first) body += ',';
        first = false;
        append_json_string(body, f.name);
        body += ':';
        append_json_string(body, id);
    }
    if (r.name == "stateset-update-user-group") {  // check mode: the path id is the body's
        body.clear();
        body = "{\"user_group_id\":";
        append_json_string(body, id);
    }
    body += '}';
    return body;
}

// The split head (put_head) and the whole one (put_whole_head) agree on everything the session
// reads: start line, fields in order, framing and persistence.
template <bool isRequest>
void expect_same_framing(const flat_parser<isRequest>& split, const flat_parser<isRequest>& whole,
                         std::string_view head) {
    auto ctx = [&] { return "\nhead:\n" + fuzz::show(head); };
    const auto& a = split.get();
    const auto& b = whole.get();
    if constexpr (isRequest) {
        FUZZ_CHECK(a.method() == b.method() && a.method_string() == b.method_string() &&
                       a.target() == b.target(),
                   "split head: request line differs" + ctx());
    } else {
        FUZZ_CHECK(a.result_int() == b.result_int() && a.reason() == b.reason(),
                   "split head: status line differs" + ctx());
    }
    FUZZ_CHECK(a.version() == b.version(), "split head: version differs" + ctx());
    FUZZ_CHECK(a.size() == b.size(), "split head: field count differs" + ctx());
    for (std::size_t i = 0; i < a.size(); ++i) {
        FUZZ_CHECK(a.at(i).name() == b.at(i).name() &&
                       a.at(i).name_string() == b.at(i).name_string() &&
                       a.at(i).value() == b.at(i).value(),
                   "split head: field " + std::to_string(i) + " differs" + ctx());
    }
    FUZZ_CHECK(split.keep_alive() == whole.keep_alive() && split.chunked() == whole.chunked() &&
                   split.upgrade() == whole.upgrade() &&
                   split.content_length() == whole.content_length() &&
                   split.is_done() == whole.is_done() && split.need_eof() == whole.need_eof(),
               "split head: framing differs" + ctx());
}

// The same bytes as an upstream's answer head: put_head accepts exactly what Beast's whole parse
// accepts, less field lines check_raw_head's rules refuse (obs-fold), and frames it the same.
void check_as_response(std::string_view head) {
    for (bool head_request : {false, true}) {
        response_head split_head, whole_head;
        response_flat_parser split(split_head), whole(whole_head);
        split.eager(false);
        whole.eager(false);
        split.skip(head_request);
        whole.skip(head_request);
        boost::beast::error_code split_ec, whole_ec;
        split.put_head(head, split_ec);
        whole.put_whole_head(head, whole_ec);
        const bool split_ok = !split_ec;
        const bool whole_ok = !whole_ec && whole.is_header_done();
        FUZZ_CHECK(!split_ok || whole_ok,
                   "put_head accepts an answer head Beast refuses: " + fuzz::show(head));
        if (split_ok) {
            expect_same_framing(split, whole, head);
        } else if (whole_ok) {
            // Refused by the split alone: its field lines break the strict rules.
            const std::string as_request =
                "GET / HTTP/1.1\r\n" + std::string(head.substr(head.find("\r\n") + 2));
            FUZZ_CHECK(!check_raw_head(as_request, head_limits{1 << 20, 1 << 20, 1 << 20}).ok(),
                       "put_head refuses an answer head with valid fields: " + fuzz::show(head));
        }
    }
}

void run(std::string_view in) {
    const rule_set& rules = fuzz::default_rules();
    static json_context json;
    head_limits limits;

    std::size_t head_end = find_head_end(in);
    if (head_end == 0) {
        (void)check_partial_head(in, limits);
        return;
    }
    std::string_view head = in.substr(0, head_end);
    if (head.substr(0, 2) != "\r\n") check_as_response(head);
    // The session checks what it has after every read; the last incomplete view of this head is
    // everything but its final LF. A refusal there must not turn into an acceptance once complete.
    head_verdict partial = check_partial_head(in.substr(0, head_end - 1), limits);
    head_verdict raw = check_raw_head(head, limits);
    FUZZ_CHECK(partial.ok() || !raw.ok(),
               "check_partial_head refuses (" + std::string(partial.reason) +
                   ") a head check_raw_head accepts: " + fuzz::show(head));
    if (!partial.ok()) return;

    std::size_t skip = 0;
    while (head.substr(skip, 2) == "\r\n") skip += 2;
    const std::string_view raw_head = head;
    head.remove_prefix(skip);

    // As the session: put_head checks the grammar as it splits the fields, then the sizes.
    request_head parsed;
    request_flat_parser parser(parsed);
    parser.eager(false);
    parser.header_limit(static_cast<std::uint32_t>(head.size() + 1));
    parser.body_limit(boost::none);
    boost::beast::error_code ec;
    std::size_t used = parser.put_head(head, ec);
    const head_verdict session_verdict =
        ec ? check_raw_head(raw_head, limits) : check_head_limits(raw_head, parsed.size(), limits);
    const bool split_ok = !ec && session_verdict.ok();
    FUZZ_CHECK(
        raw.ok() || (session_verdict.status == raw.status && session_verdict.reason == raw.reason),
        "the session refuses a head with another verdict than check_raw_head's (" +
            std::string(session_verdict.reason) + " / " + std::string(raw.reason) +
            "): " + fuzz::show(head));
    // The reference: check_raw_head, then every field through Beast (the session until the split).
    request_head whole_head;
    request_flat_parser whole(whole_head);
    whole.eager(false);
    whole.header_limit(static_cast<std::uint32_t>(head.size() + 1));
    whole.body_limit(boost::none);
    boost::beast::error_code whole_ec;
    whole.put_whole_head(head, whole_ec);
    const bool whole_ok = !whole_ec && whole.is_header_done() && raw.ok();
    FUZZ_CHECK(split_ok == whole_ok, std::string("put_head ") + (split_ok ? "accepts" : "refuses") +
                                         " a head check_raw_head and Beast's whole parse " +
                                         (whole_ok ? "accept" : "refuse") + ": " +
                                         fuzz::show(head));
    if (!split_ok) return;
    FUZZ_CHECK(used == head.size(), "put_head left " + std::to_string(head.size() - used) +
                                        " bytes of an accepted head unread: " + fuzz::show(head));
    expect_same_framing(parser, whole, head);

    auto& req = parser.get();
    if (!check_request_framing(req).ok()) return;
    if (auto expect = req[http::field::expect]; !expect.empty()) {
        if (!iequals(expect, "100-continue") || req.version() != 11) return;
    }
    parser.body_limit(1048576);

    framing_spec body{};
    if (parser.chunked()) {
        body.kind = body_framing::chunked;
    } else if (auto len = parser.content_length()) {
        body = {body_framing::length, *len};
    }
    const std::vector<std::string> options = connection_options(req);
    forward_info info{peer_ip, "http", upstream_host, absolute_authority(req.target())};

    std::string_view target = req.target();
    std::string out;
    auto pass_through = [&](std::string_view t) {
        for (std::string_view prefix : {std::string_view(), std::string_view("/base")}) {
            std::string up(t);
            if (!prefix.empty() && t != "*") up = std::string(prefix) + up;
            std::array<std::string_view, 1> drop{request_id_field};
            std::array<header_pair, 1> add{header_pair{request_id_field, request_id}};
            out.clear();
            write_upstream_head(out, req.method_string(), up, req, info, body, drop, add);
            verify_upstream_head(out, {req.method_string(), up, body, &options, {}, &req}, in);
        }
    };
    if (target == "*") return pass_through(target);

    auto split = split_request_target(target);
    std::optional<std::string> path = split ? normalize_path(split->path) : std::nullopt;
    if (!path) return;
    FUZZ_CHECK(path->front() == '/' && path->find("//") == std::string::npos,
               "normalised path not normal: " + fuzz::show(*path));
    FUZZ_CHECK(normalize_path(*path) == path,
               "normalize_path is not idempotent: " + fuzz::show(*path));

    path_match match = match_route(rules, req.method_string(), *path);
    if (match.candidates.empty()) {
        if (target.front() != '/') {
            std::string origin(split->path);
            if (split->has_query) origin.append("?").append(split->query);
            return pass_through(origin);
        }
        return pass_through(target);
    }

    // Translated route: the head-level checks, a body the rule accepts, then the upstream head.
    const rule* first = match.candidates.front();
    auto token = authenticate(*first, req);
    if (!token) return;
    FUZZ_CHECK(
        !token.value().empty() &&
            token.value().find_first_of(std::string_view(" \t\r\n\0", 5)) == std::string_view::npos,
        "authenticate returned a token with whitespace or controls: " + fuzz::show(token.value()));
    if (check_content_type(req)) return;
    if (auto enc = req[http::field::content_encoding]; !enc.empty() && !iequals(enc, "identity"))
        return;
    std::string body_in = canned_body(*first, match.params);
    const body_choice choice = select_by_body(match, body_in, json);
    FUZZ_CHECK(choice.picked != nullptr, "select_by_body returned null");
    auto call =
        transform_request(*choice.picked, match.params, token.value(),
                          split->has_query ? split->query : std::string_view(), choice.body, json);
    if (!call) return;
    for (std::string_view prefix : {std::string_view(), std::string_view("/base")}) {
        std::string up = std::string(prefix) + call->target;
        std::vector<std::string_view> drop{"content-type",   "accept-encoding", "content-encoding",
                                           "content-digest", "digest",          "content-md5"};
        for (const rule& any : rules.rules) {
            for (const auto& src : any.accept) drop.push_back(src.header);
            drop.push_back(any.upstream_auth_header);
        }
        drop.push_back(request_id_field);
        std::array<header_pair, 4> add{header_pair{call->auth_header, call->auth_value},
                                       header_pair{"Content-Type", "application/json"},
                                       header_pair{"Accept-Encoding", "identity"},
                                       header_pair{request_id_field, request_id}};
        framing_spec up_body{body_framing::length, call->body.size()};
        out.clear();
        write_upstream_head(out, call->method, up, req, info, up_body, drop, add);
        verify_upstream_head(out, {call->method, up, up_body, &options, call->auth_value, &req},
                             in);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    run(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
