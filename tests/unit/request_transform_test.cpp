// transform_request against the seeds' dialects: rules are built here in C++ (not by the loader)
// so this stage is tested alone. Expected upstream bodies are exact strings: every value must be
// the client's bytes, in the client's order.
#include <gtest/gtest.h>

#include <string>

#include "json/json_validate.hpp"
#include "proxy/request_transform.hpp"

namespace shimgate {
namespace {

field_rule field(std::string name, field_type t, bool required = false, bool non_empty = false) {
    return field_rule{std::move(name), t, required, non_empty};
}

rule group_rule(std::string name, bool explo) {
    rule r;
    r.name = std::move(name);
    r.upstream_method = "POST";
    r.upstream_path = "/api/update_customer/";
    r.fields = {field("name", field_type::string),
                field("user_group_id", field_type::string, true, true),
                field("mapping", field_type::object), field("properties", field_type::object)};
    if (explo) r.fields.push_back(field("is_demo_group", field_type::boolean));
    r.renames = {{"user_group_id", "customer_id"}};
    return r;
}

rule mintlify() {
    rule r = group_rule("mintlify-update-user", false);
    r.method = "PUT";
    r.path = "/api/user";
    return r;
}

rule explo() {
    rule r = group_rule("explo-update-user-group", true);
    r.method = "POST";
    r.path = "/api/update_user_group/";
    return r;
}

rule stateset_group() {
    rule r = group_rule("stateset-update-user-group", false);
    r.method = "PUT";
    r.path = "/v1/users/{id}";
    r.body_has = "user_group_id";
    r.path_params = {{"id", "user_group_id", path_param_mode::check}};
    r.errors = error_style::problem;
    return r;
}

rule stateset_profile() {
    rule r;
    r.name = "stateset-update-user";
    r.method = "PUT";
    r.path = "/v1/users/{id}";
    r.upstream_method = "PUT";
    r.upstream_path = "/v1/users/{id}";
    for (const char* s :
         {"id", "avatar", "bio", "country", "email", "firstName", "lastName", "location",
          "organization", "phone", "regions", "title", "twitter", "username"}) {
        r.fields.push_back(field(s, field_type::string));
    }
    r.fields.push_back(field("active", field_type::boolean));
    r.fields.push_back(field("birthday", field_type::date));
    r.fields.push_back(field("last_seen", field_type::date_time));
    r.fields.push_back(field("last_typed", field_type::date_time));
    r.path_params = {{"id", "id", path_param_mode::check}};
    r.errors = error_style::problem;
    return r;
}

struct outcome {
    bool ok = false;
    upstream_call call;
    refusal why;
};

outcome run(const rule& r, std::string body, const path_params& params = {},
            std::string_view query = "") {
    static json_context ctx;  // reused, as the session's per-thread context is
    auto res = transform_request(r, params, "tok123", query, read_members(body, ctx), ctx);
    outcome o;
    o.ok = res.has_value();
    if (o.ok) {
        o.call = std::move(res).value();
        EXPECT_TRUE(check_json_value(o.call.body).ok) << o.call.body;
    } else {
        o.why = res.error();
    }
    return o;
}

// The upstream body for `body`, or "REFUSED: <message>".
std::string body_of(const rule& r, std::string body, const path_params& params = {}) {
    outcome o = run(r, std::move(body), params);
    return o.ok ? o.call.body : "REFUSED: " + o.why.message;
}

std::string refusal_of(const rule& r, std::string body, const path_params& params = {}) {
    outcome o = run(r, std::move(body), params);
    EXPECT_FALSE(o.ok) << "forwarded: " << o.call.body;
    EXPECT_EQ(o.why.status, 400u);
    return o.why.message;
}

const std::string seed_body = R"({
    "user_group_id": "example_1",
    "name": "Example 1",
    "mapping": {"40": "213", "134": "386"},
    "properties": {"filterValue": "value"}
})";
const std::string seed_upstream =
    R"({"customer_id":"example_1","name":"Example 1","mapping":{"40": "213", "134": "386"},)"
    R"("properties":{"filterValue": "value"}})";

TEST(TransformSeeds, MintlifyExample) {
    outcome o = run(mintlify(), seed_body);
    ASSERT_TRUE(o.ok) << o.why.message;
    EXPECT_EQ(o.call.body, seed_upstream);
    EXPECT_EQ(o.call.method, "POST");
    EXPECT_EQ(o.call.target, "/api/update_customer/");
    EXPECT_EQ(o.call.auth_header, "Authorization");
    EXPECT_EQ(o.call.auth_value, "Token tok123");
}

TEST(TransformSeeds, ExploExampleAndDemoFlag) {
    EXPECT_EQ(body_of(explo(), seed_body), seed_upstream);
    EXPECT_EQ(body_of(explo(), R"({"user_group_id":"g","is_demo_group":true})"),
              R"({"customer_id":"g","is_demo_group":true})");
    EXPECT_EQ(refusal_of(explo(), R"({"user_group_id":"g","is_demo_group":"true"})"),
              R"(field "is_demo_group" must be a boolean)");
}

TEST(TransformSeeds, StateSetGroupExampleChecksPathId) {
    outcome o = run(stateset_group(), seed_body, {{"id", "example_1"}});
    ASSERT_TRUE(o.ok) << o.why.message;
    EXPECT_EQ(o.call.body, seed_upstream);
    EXPECT_EQ(o.call.target, "/api/update_customer/");
    EXPECT_EQ(refusal_of(stateset_group(), seed_body, {{"id", "other"}}),
              R"(body "user_group_id" ("example_1") does not match path id ("other"))");
}

TEST(TransformSeeds, StateSetProfile) {
    const std::string body =
        R"({"id":"u-1","active":true,"avatar":"https://x/a.png","bio":"hi","birthday":"1990-02-28",)"
        R"("country":"FR","email":"a@b.c","firstName":"Ann","lastName":"Lee",)"
        R"("last_seen":"2024-01-02T03:04:05Z","last_typed":"2024-01-02T03:04:05.123+02:00",)"
        R"("location":"Paris","organization":"Org","phone":"+33","regions":"EU","title":"CTO",)"
        R"("twitter":"@ann","username":"ann"})";
    outcome o = run(stateset_profile(), body, {{"id", "u-1"}}, "dry_run=1&x=%20");
    ASSERT_TRUE(o.ok) << o.why.message;
    EXPECT_EQ(o.call.body, body);
    EXPECT_EQ(o.call.method, "PUT");
    EXPECT_EQ(o.call.target, "/v1/users/u-1?dry_run=1&x=%20");
}

TEST(TransformTypes, EachTypeAcceptedAndRefused) {
    rule r;
    r.name = "types";
    r.upstream_path = "/t";
    r.fields = {field("s", field_type::string),    field("b", field_type::boolean),
                field("o", field_type::object),    field("a", field_type::array),
                field("n", field_type::number),    field("d", field_type::date),
                field("t", field_type::date_time), field("any", field_type::any)};
    EXPECT_EQ(body_of(r, R"({"s":"x","b":false,"o":{},"a":[],"n":-1.5e3,"d":"2024-02-29",)"
                         R"("t":"2024-02-29T23:59:60z","any":[{"x":null}]})"),
              R"({"s":"x","b":false,"o":{},"a":[],"n":-1.5e3,"d":"2024-02-29",)"
              R"("t":"2024-02-29T23:59:60z","any":[{"x":null}]})");
    EXPECT_EQ(refusal_of(r, R"({"s":1})"), R"(field "s" must be a string)");
    EXPECT_EQ(refusal_of(r, R"({"b":0})"), R"(field "b" must be a boolean)");
    EXPECT_EQ(refusal_of(r, R"({"o":[]})"), R"(field "o" must be an object)");
    EXPECT_EQ(refusal_of(r, R"({"a":{}})"), R"(field "a" must be an array)");
    EXPECT_EQ(refusal_of(r, R"({"n":"1"})"), R"(field "n" must be a number)");
    for (const char* bad : {R"("2023-02-29")", R"("2024-13-01")", R"("2024-1-01")",
                            R"("2024-01-01T00:00:00Z")", R"("20240101")", "20240101"}) {
        EXPECT_EQ(refusal_of(r, std::string(R"({"d":)") + bad + "}"),
                  R"(field "d" must be a date (YYYY-MM-DD))")
            << bad;
    }
    for (const char* bad :
         {R"("2024-01-01")", R"("2024-01-01T24:00:00Z")", R"("2024-01-01T10:60:00Z")",
          R"("2024-01-01T10:00:61Z")", R"("2024-01-01T10:00:00")", R"("2024-01-01T10:00:00.Z")",
          R"("2024-01-01 10:00:00Z")", R"("2024-01-01T10:00:00+2:00")",
          R"("2024-01-01T10:00:00+24:00")", R"("2024-01-01T10:00:00Zx")", "1"}) {
        EXPECT_EQ(refusal_of(r, std::string(R"({"t":)") + bad + "}"),
                  R"(field "t" must be a date-time (RFC 3339))")
            << bad;
    }
    // Escaped spellings of a valid date are the same date.
    EXPECT_EQ(body_of(r, R"({"d":"2024\u002d01-31"})"), R"({"d":"2024\u002d01-31"})");
    EXPECT_EQ(body_of(r, R"({"t":"2024-01-31T10:00:00.5-05:30"})"),
              R"({"t":"2024-01-31T10:00:00.5-05:30"})");
}

TEST(TransformTypes, RequiredNullAndNonEmpty) {
    EXPECT_EQ(refusal_of(mintlify(), R"({"name":"x"})"), R"(field "user_group_id" is required)");
    EXPECT_EQ(refusal_of(mintlify(), R"({"user_group_id":null})"),
              R"(field "user_group_id" is required)");
    EXPECT_EQ(refusal_of(mintlify(), R"({"user_group_id":""})"),
              R"(field "user_group_id" must not be empty)");
    EXPECT_EQ(refusal_of(mintlify(), "{}"), R"(field "user_group_id" is required)");
    // Optional fields accept null, forwarded as is.
    EXPECT_EQ(body_of(mintlify(), R"({"user_group_id":"g","name":null,"mapping":null})"),
              R"({"customer_id":"g","name":null,"mapping":null})");
    rule r;
    r.upstream_path = "/t";
    r.fields = {field("o", field_type::object, false, true),
                field("a", field_type::array, false, true),
                field("x", field_type::any, false, true)};
    EXPECT_EQ(refusal_of(r, R"({"o":{ }})"), R"(field "o" must not be empty)");
    EXPECT_EQ(refusal_of(r, R"({"a":[]})"), R"(field "a" must not be empty)");
    EXPECT_EQ(refusal_of(r, R"({"x":""})"), R"(field "x" must not be empty)");
    EXPECT_EQ(body_of(r, R"({"o":{"k":0},"a":[0],"x":0})"), R"({"o":{"k":0},"a":[0],"x":0})");
}

TEST(TransformTypes, ArraysOrScalarsWhereObjectsExpected) {
    EXPECT_EQ(refusal_of(mintlify(), R"({"user_group_id":"g","mapping":[1,2]})"),
              R"(field "mapping" must be an object)");
    EXPECT_EQ(refusal_of(mintlify(), R"({"user_group_id":"g","properties":"{}"})"),
              R"(field "properties" must be an object)");
    EXPECT_EQ(refusal_of(mintlify(), R"({"user_group_id":["g"]})"),
              R"(field "user_group_id" must be a string)");
}

TEST(TransformBody, NotAnObjectOrMalformed) {
    EXPECT_EQ(refusal_of(mintlify(), "[1]"), "body must be a JSON object");
    EXPECT_EQ(refusal_of(mintlify(), R"("x")"), "body must be a JSON object");
    EXPECT_EQ(refusal_of(mintlify(), "42"), "body must be a JSON object");
    EXPECT_EQ(refusal_of(mintlify(), ""), "body must be a JSON object");
    EXPECT_EQ(refusal_of(mintlify(), " \n"), "body must be a JSON object");
    for (const char* bad :
         {R"({"user_group_id":"g")", R"({"user_group_id":"g",})", R"({"user_group_id" "g"})",
          R"({"user_group_id":"g"}})", R"({"user_group_id":"g"}{})", R"({"user_group_id":"g"} x)",
          R"({user_group_id:"g"})", "{\"user_group_id\":\"g\x01\"}", "{\"user_group_id\":\"\xFF\"}",
          R"({"user_group_id":"g","x":tru})", R"({"user_group_id":"g","x":1x})",
          R"({"user_group_id":"g","x":01})", R"({"user_group_id":"g","x":"\q"})",
          R"({"user_group_id":"g","x":"\ud800"})", R"({"user_group_id":"g\ud800"})"}) {
        const std::string msg = refusal_of(mintlify(), bad);
        EXPECT_EQ(msg.rfind("malformed JSON: ", 0), 0u) << bad << " -> " << msg;
    }
}

TEST(TransformBody, SkippedValuesAreStillValidated) {
    // Inside a value copied raw, On-Demand alone would not look: the shim does.
    for (const char* bad : {R"({"user_group_id":"g","mapping":{"a":tru}})",
                            R"({"user_group_id":"g","mapping":{"a":"\x"}})",
                            R"({"user_group_id":"g","mapping":{"a":[1,2}}})",
                            R"({"user_group_id":"g","mapping":{"a":1,}})",
                            R"({"user_group_id":"g","mapping":{"a":01}})",
                            R"({"user_group_id":"g","mapping":{"\ud800":1}})",
                            R"({"user_group_id":"g","properties":{"a":[nul]}})",
                            R"({"user_group_id":"g","unknown":[1 2]})"}) {
        const std::string msg = refusal_of(mintlify(), bad);
        EXPECT_EQ(msg.rfind("malformed JSON: ", 0), 0u) << bad << " -> " << msg;
    }
    EXPECT_EQ(refusal_of(mintlify(), R"({"user_group_id":"g","mapping":{"a":tru}})"),
              R"(malformed JSON: invalid literal (in field "mapping"))");
}

TEST(TransformBody, DuplicateKeysIncludingEscapedSpellings) {
    EXPECT_EQ(refusal_of(mintlify(), R"({"user_group_id":"a","user_group_id":"b"})"),
              R"(duplicate key "user_group_id")");
    EXPECT_EQ(refusal_of(mintlify(), R"({"user_group_id":"a","user_group\u005fid":"b"})"),
              R"(duplicate key "user_group_id")");
    EXPECT_EQ(refusal_of(mintlify(), R"({"user_group_id":"a","x":1,"\u0078":2})"),
              R"(duplicate key "x")");
    // Dropped keys count too: the body is refused, not read one way.
    rule r = mintlify();
    r.unknown = unknown_policy::drop;
    EXPECT_EQ(refusal_of(r, R"({"user_group_id":"a","x":1,"x":2})"), R"(duplicate key "x")");
    // A renamed key must not meet the name it is renamed to.
    EXPECT_EQ(refusal_of(mintlify(), R"({"user_group_id":"a","customer_id":"b"})"),
              R"(fields "user_group_id" and "customer_id" are the same upstream field)");
    EXPECT_EQ(refusal_of(mintlify(), R"({"customer\u005fid":"b","user_group_id":"a"})"),
              R"(fields "user_group_id" and "customer_id" are the same upstream field)");
    // ...unless the other one is dropped.
    EXPECT_EQ(body_of(r, R"({"user_group_id":"a","customer_id":"b"})"), R"({"customer_id":"a"})");
    // Nested objects are opaque: their keys are the upstream's business.
    EXPECT_EQ(body_of(mintlify(), R"({"user_group_id":"a","mapping":{"k":1,"k":2}})"),
              R"({"customer_id":"a","mapping":{"k":1,"k":2}})");
}

TEST(TransformBody, EscapesAndUnicodeKeptByteForByte) {
    const std::string body =
        "{\"user_group_id\":\"caf\\u00e9 \\ud83d\\ude00\",\"name\":\"caf\xC3\xA9 \xF0\x9F\x98\x80 "
        "\\\" \\\\ \\n \\/\",\"caf\\u00e9\":\"\\u0000\",\"\xC3\xA9t\xC3\xA9\":\"\\t\"}";
    const std::string expected =
        "{\"customer_id\":\"caf\\u00e9 \\ud83d\\ude00\",\"name\":\"caf\xC3\xA9 \xF0\x9F\x98\x80 "
        "\\\" \\\\ \\n \\/\",\"caf\\u00e9\":\"\\u0000\",\"\xC3\xA9t\xC3\xA9\":\"\\t\"}";
    EXPECT_EQ(body_of(mintlify(), body), expected);
    // A known field spelled with escapes is that field (renamed; its value untouched).
    EXPECT_EQ(body_of(mintlify(), R"({"\u0075ser_group_id":"g","n\u0061me":"\u0041"})"),
              R"({"customer_id":"g","n\u0061me":"\u0041"})");
    EXPECT_EQ(refusal_of(mintlify(), R"({"\u0075ser_group_id":"g","n\u0061me":1})"),
              R"(field "name" must be a string)");
}

TEST(TransformBody, NumbersKeepTheirText) {
    const std::string body =
        R"({"user_group_id":"g","properties":{"big":1e400,"prec":0.10000000000000000001,)"
        R"("neg0":-0,"huge":123456789012345678901234567890,"e":1E-7,"f":-0.0e+00},)"
        R"("n":18446744073709551616,"m":-9223372036854775809,"z":0})";
    EXPECT_EQ(body_of(mintlify(), body),
              R"({"customer_id":"g","properties":{"big":1e400,"prec":0.10000000000000000001,)"
              R"("neg0":-0,"huge":123456789012345678901234567890,"e":1E-7,"f":-0.0e+00},)"
              R"("n":18446744073709551616,"m":-9223372036854775809,"z":0})");
}

TEST(TransformBody, WhitespaceOutsideValuesIsDropped) {
    EXPECT_EQ(body_of(mintlify(), " \t{ \"user_group_id\" :\n\"g\" ,\r\n\"mapping\" : { } } \n"),
              R"({"customer_id":"g","mapping":{ }})");
    EXPECT_EQ(body_of(mintlify(), R"({"user_group_id":"g","properties":{},"mapping":[]})"),
              R"(REFUSED: field "mapping" must be an object)");
}

TEST(TransformBody, DeeplyNestedProperties) {
    const std::string inner = std::string(1000, '[') + "1" + std::string(1000, ']');
    const std::string body = R"({"user_group_id":"g","properties":{"p":)" + inner + "}}";
    EXPECT_EQ(body_of(mintlify(), body), R"({"customer_id":"g","properties":{"p":)" + inner + "}}");
    std::string objects = R"({"user_group_id":"g","properties":)";
    for (int i = 0; i < 1000; ++i) objects += R"({"a":)";
    objects += "null";
    objects += std::string(1001, '}');
    EXPECT_EQ(body_of(mintlify(), objects).substr(0, 30), R"({"customer_id":"g","properties)");
    // Far deeper: a clear refusal, no crash.
    const std::string abyss = R"({"user_group_id":"g","properties":{"p":)" +
                              std::string(200'000, '[') + std::string(200'000, ']') + "}}";
    EXPECT_EQ(refusal_of(mintlify(), abyss),
              R"(malformed JSON: nesting deeper than 1024 levels (in field "properties"))");
}

TEST(TransformBody, OneMebibyteBody) {
    std::string props;
    for (int i = 0; props.size() < 1'040'000; ++i) {
        if (i) props += ',';
        props += "\"k" + std::to_string(i) + "\":\"" + std::string(40, 'v') + "\\u00e9\"";
    }
    const std::string body = R"({"user_group_id":"g","properties":{)" + props + "}}";
    ASSERT_GT(body.size(), 1'000'000u);
    EXPECT_EQ(body_of(mintlify(), body), R"({"customer_id":"g","properties":{)" + props + "}}");
    // Many top-level keys: duplicate detection stays cheap and exact.
    std::string flat = R"({"user_group_id":"g")";
    for (int i = 0; i < 40'000; ++i) flat += ",\"f" + std::to_string(i) + "\":" + std::to_string(i);
    EXPECT_EQ(body_of(mintlify(), flat + "}").size(),
              flat.size() + 1 - 2);  // customer_id is 2 shorter
    EXPECT_EQ(refusal_of(mintlify(), flat + R"(,"f39999":0})"), R"(duplicate key "f39999")");
}

TEST(TransformBody, UnknownFieldPolicies) {
    const std::string body = R"({"extra":{"x":1},"user_group_id":"g","more":[true]})";
    EXPECT_EQ(body_of(mintlify(), body), R"({"extra":{"x":1},"customer_id":"g","more":[true]})");
    rule drop = mintlify();
    drop.unknown = unknown_policy::drop;
    EXPECT_EQ(body_of(drop, body), R"({"customer_id":"g"})");
    rule reject = mintlify();
    reject.unknown = unknown_policy::reject;
    EXPECT_EQ(refusal_of(reject, body), R"(unknown field "extra")");
    EXPECT_EQ(body_of(reject, R"({"user_group_id":"g","name":"n"})"),
              R"({"customer_id":"g","name":"n"})");
}

TEST(TransformPathParams, CheckMode) {
    const rule r = stateset_profile();
    EXPECT_EQ(body_of(r, R"({"bio":"x"})", {{"id", "u1"}}), R"({"bio":"x"})");
    EXPECT_EQ(body_of(r, R"({"id":"u\u0031"})", {{"id", "u1"}}), R"({"id":"u\u0031"})");
    EXPECT_EQ(refusal_of(r, R"({"id":"u2"})", {{"id", "u1"}}),
              R"(body "id" ("u2") does not match path id ("u1"))");
    EXPECT_EQ(refusal_of(r, R"({"id":7})", {{"id", "7"}}), R"(field "id" must be a string)");
    EXPECT_EQ(refusal_of(r, R"({"id":null})", {{"id", "u1"}}),
              R"(body "id" (null) does not match path id ("u1"))");
}

TEST(TransformPathParams, InjectModeAndTargetEncoding) {
    rule r = stateset_profile();
    r.path_params = {{"id", "id", path_param_mode::inject}};
    outcome o = run(r, R"({"bio":"x"})", {{"id", "a b/\"c\xC3\xA9"}});
    ASSERT_TRUE(o.ok) << o.why.message;
    EXPECT_EQ(o.call.body, "{\"bio\":\"x\",\"id\":\"a b/\\\"c\xC3\xA9\"}");
    EXPECT_EQ(o.call.target, "/v1/users/a%20b%2F%22c%C3%A9");
    // Present: left as the client sent it.
    EXPECT_EQ(body_of(r, R"({"id":"given"})", {{"id", "path"}}), R"({"id":"given"})");
    // Injection follows renames, into an empty body too.
    r.renames = {{"id", "user_id"}};
    EXPECT_EQ(body_of(r, "{}", {{"id", "~ok-._"}}), R"({"user_id":"~ok-._"})");
    EXPECT_EQ(refusal_of(r, R"({"user_id":"x"})", {{"id", "p"}}),
              R"(fields "id" and "user_id" are the same upstream field)");
}

TEST(TransformTarget, QueryAndCredentials) {
    rule r = mintlify();
    r.upstream_auth_header = "X-Api-Key";
    r.upstream_auth_scheme = "Bearer";
    outcome o = run(r, R"({"user_group_id":"g"})", {}, "a=1&b=%2F");
    ASSERT_TRUE(o.ok);
    EXPECT_EQ(o.call.target, "/api/update_customer/?a=1&b=%2F");
    EXPECT_EQ(o.call.auth_header, "X-Api-Key");
    EXPECT_EQ(o.call.auth_value, "Bearer tok123");
    // A template parameter with no value is a rule error (500), not the client's.
    rule broken = stateset_profile();
    std::string body = "{}";
    json_context ctx;
    auto res = transform_request(broken, {}, "t", "", read_members(body, ctx), ctx);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().status, 500u);
}

}  // namespace
}  // namespace shimgate
