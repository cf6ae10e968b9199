// fuzz_rule_loader: bytes -> parse_rule("fuzz.json", bytes).
//
// Invariants: never crashes; a refusal is one line naming the file; an accepted rule is sane:
// name, method and upstream method non-empty tokens, match.path and upstream.path start with '/',
// the template's segments rebuild match.path, every {param} of upstream.path is a template
// parameter, and the rule is usable: a request on its own template (each parameter "p") matches
// it, and the request and response stages run on it without crashing, producing valid JSON.
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include "config/rule_loader.hpp"
#include "fuzz_common.hpp"

#include <array>

#include "proxy/errors.hpp"
#include "proxy/forward_headers.hpp"
#include "proxy/framing.hpp"
#include "proxy/path.hpp"
#include "proxy/request_transform.hpp"
#include "proxy/response_rewrite.hpp"
#include "proxy/route.hpp"

using namespace shimgate;

namespace {

// The RFC 9110 token grammar, written out here rather than taken from common/ascii.hpp: the
// oracle does not share code with what it checks.
bool oracle_is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

void run(std::string_view in) {
    static json_context json;
    rule_or_error got = parse_rule("fuzz.json", in);
    if (!got.error.empty()) {
        // Messages quote rule text unescaped (rule_loader.cpp in_quotes): a "\n" in a value makes
        // the one-line error several lines (reported; FUZZ_ALLOW=loader-error-newline skips it).
        FUZZ_KNOWN("loader-error-newline",
                   got.error.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos,
                   "error is not one clean line: " + fuzz::show(got.error));
        FUZZ_CHECK(got.error.rfind("fuzz.json", 0) == 0,
                   "error does not name the file: " + fuzz::show(got.error));
        return;
    }
    const rule& r = got.value;
    const std::string ctx = "\nrule text: " + fuzz::show(in);
    FUZZ_CHECK(!r.name.empty(), "empty name" + ctx);
    // The loader once used strchr(set, c) for tokens and path characters, which is true for
    // c == '\0': NUL passed as a token or path character (FUZZ_ALLOW=loader-nul-token skips it).
    auto token_ok = [&](std::string_view what, const std::string& t) {
        if (oracle_is_token(t)) return true;
        FUZZ_CHECK(t.find('\0') != std::string::npos,
                   std::string(what) + " not a token: " + fuzz::show(t) + ctx);
        return false;
    };
    bool nul_token = !token_ok("method", r.method) |
                     !token_ok("upstream method", r.upstream_method) |
                     !token_ok("upstream auth header", r.upstream_auth_header) |
                     !token_ok("upstream auth scheme", r.upstream_auth_scheme);
    for (const auto& c : r.accept) {
        nul_token |= !token_ok("credential header", c.header);
        for (const auto& sc : c.schemes) nul_token |= !token_ok("credential scheme", sc);
    }
    nul_token |= r.upstream_path.find('\0') != std::string::npos;
    FUZZ_KNOWN("loader-nul-token", !nul_token,
               "NUL accepted in a method, header name, scheme or upstream.path" + ctx);
    FUZZ_CHECK(!r.path.empty() && r.path.front() == '/', "match.path must start with '/'" + ctx);
    FUZZ_CHECK(!r.upstream_path.empty() && r.upstream_path.front() == '/',
               "upstream.path must start with '/'" + ctx);
    for (char ch : r.upstream_path) {
        auto c = static_cast<unsigned char>(ch);
        FUZZ_CHECK(c > 0x20 && c < 0x7f, "upstream.path byte not allowed in a request line" + ctx);
    }
    FUZZ_CHECK(!r.segments.empty(), "no segments" + ctx);
    std::string rebuilt, probe;
    for (const auto& s : r.segments) {
        rebuilt += '/';
        rebuilt += s.is_param ? "{" + s.text + "}" : s.text;
        probe += s.is_param ? "/p" : "/" + s.text;
    }
    FUZZ_CHECK(rebuilt == r.path,
               "segments do not rebuild match.path: " + fuzz::show(rebuilt) + ctx);
    for (const auto& c : r.accept)
        FUZZ_CHECK(!c.schemes.empty(), "credential without schemes" + ctx);

    // The rule matches a request on its own template.
    auto normal = normalize_path(probe);
    FUZZ_CHECK(normal && *normal == probe, "template probe not normal: " + fuzz::show(probe) + ctx);
    rule_set one;
    one.rules.push_back(r);
    path_match m = match_route(one, r.method, probe);
    FUZZ_CHECK(m.candidates.size() == 1, "the rule does not match its own template" + ctx);

    // The stages run on it: a small body built from its fields, and a canned upstream answer.
    std::string body = "{";
    bool first = true;
    for (const auto& f : r.fields) {
        if (!first) body += ',';
        first = false;
        body +=
            '"' + f.name + "\":";  // names come from JSON keys: may need escaping, fine if refused
        switch (f.type) {
            case field_type::boolean:
                body += "true";
                break;
            case field_type::object:
                body += "{\"k\":1}";
                break;
            case field_type::array:
                body += "[1]";
                break;
            case field_type::number:
                body += "1e400";
                break;
            case field_type::date:
                body += "\"2024-02-29\"";
                break;
            case field_type::date_time:
                body += "\"2024-02-29T23:59:60Z\"";
                break;
            default:
                body += "\"p\"";
                break;
        }
    }
    body += '}';
    auto call = transform_request(*m.candidates.front(), m.params, "tok", "q=1",
                                  read_members(body, json), json);
    if (call) {
        FUZZ_CHECK(call->target.front() == '/', "upstream target not origin-form" + ctx);
        FUZZ_CHECK(fuzz::check_json(call->body).ok,
                   "invalid upstream body " + fuzz::show(call->body) + ctx);
        // The head this rule makes the shim send parses as one request with the credential.
        head_fields none;
        forward_info info{"192.0.2.7", "http", "127.0.0.1:9090"};
        std::array<header_pair, 2> add{header_pair{call->auth_header, call->auth_value},
                                       header_pair{"Content-Type", "application/json"}};
        std::string head;
        write_upstream_head(head, call->method, call->target, none, info,
                            {body_framing::length, call->body.size()}, {}, add);
        boost::beast::http::request_parser<boost::beast::http::empty_body> p;
        boost::beast::error_code ec;
        std::size_t used = p.put(boost::asio::buffer(head.data(), head.size()), ec);
        FUZZ_CHECK(!ec && p.is_header_done() && used == head.size(),
                   "the rule's upstream head does not parse: " + fuzz::show(head) + ctx);
        FUZZ_CHECK(p.get()[call->auth_header] == call->auth_value,
                   "the rule's upstream credential is lost: " + fuzz::show(head) + ctx);
        FUZZ_CHECK(check_raw_head(head, head_limits{1 << 20, 1 << 20, 1000}).ok(),
                   "the rule's upstream head fails check_raw_head: " + fuzz::show(head) + ctx);
    } else {
        // 500 only for rule defects the loader should have refused.
        FUZZ_CHECK(call.error().status == 400, "transform refused with " +
                                                   std::to_string(call.error().status) + ": " +
                                                   call.error().message + ctx);
    }
    std::string answer =
        R"({"success":1,"customer":{"customer_id":"p","name":"n","token":"t"},"id":"p","p":{"a":[1]}})";
    for (unsigned status : {200u, 404u, 500u}) {
        std::string copy = answer;
        client_answer a = rewrite_response(r, status, copy, json);
        FUZZ_CHECK(fuzz::check_json(a.body).ok, "invalid answer " + fuzz::show(a.body) + ctx);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    run(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
