#include "config/rule_loader.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "fixtures/temp_dir.hpp"

namespace shimgate {
namespace {

namespace fs = std::filesystem;

// A complete, valid rule; each test breaks one thing in it.
const std::string base_rule = R"({
  "name": "acme-update",
  "dialect": "acme",
  "match": {"method": "PUT", "path": "/acme/{id}/group"},
  "auth": {
    "accept": [{"header": "X-Acme-Key", "schemes": ["Key"]}],
    "upstream": {"header": "Authorization", "scheme": "Token"}
  },
  "request": {
    "fields": {
      "group": {"type": "string", "required": true, "non_empty": true},
      "label": "string",
      "demo": "boolean"
    },
    "renames": {"group": "customer_id"},
    "unknown_fields": "drop",
    "path_params": {"id": {"field": "group", "mode": "check"}}
  },
  "upstream": {"method": "POST", "path": "/api/update_customer/"},
  "response": {
    "copy": ["success"],
    "wrapper": "group",
    "source": "customer",
    "keys": ["token", {"from": "customer_id", "as": "group_id"}]
  },
  "errors": "envelope"
})";

// base_rule with one unique piece of text replaced.
std::string with(std::string_view from, std::string_view to, std::string text = base_rule) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    EXPECT_EQ(text.find(from, at + 1), std::string::npos) << "not unique: " << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

// The message is one line naming the file, the rule and the problem.
void expect_error(const std::string& json, std::string_view problem) {
    const auto r = parse_rule("acme.json", json);
    ASSERT_NE(r.error, "") << "accepted: " << json;
    EXPECT_EQ(r.error.rfind(R"(acme.json: rule "acme-update": )", 0), 0u) << r.error;
    EXPECT_NE(r.error.find(problem), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
}

TEST(RuleParse, BaseRuleIsValid) {
    const auto r = parse_rule("acme.json", base_rule);
    ASSERT_EQ(r.error, "");
    const rule& v = r.value;
    EXPECT_EQ(v.file, "acme.json");
    EXPECT_EQ(v.name, "acme-update");
    EXPECT_EQ(v.dialect, "acme");
    EXPECT_EQ(v.method, "PUT");
    EXPECT_EQ(v.path, "/acme/{id}/group");
    ASSERT_EQ(v.segments.size(), 3u);
    EXPECT_FALSE(v.segments[0].is_param);
    EXPECT_EQ(v.segments[0].text, "acme");
    EXPECT_TRUE(v.segments[1].is_param);
    EXPECT_EQ(v.segments[1].text, "id");
    EXPECT_EQ(v.body_has, "");
    ASSERT_EQ(v.accept.size(), 1u);
    EXPECT_EQ(v.accept[0].header, "X-Acme-Key");
    EXPECT_EQ(v.accept[0].schemes, std::vector<std::string>{"Key"});
    EXPECT_EQ(v.upstream_auth_header, "Authorization");
    EXPECT_EQ(v.upstream_auth_scheme, "Token");
    ASSERT_EQ(v.fields.size(), 3u);
    EXPECT_EQ(v.fields[0].name, "group");
    EXPECT_EQ(v.fields[0].type, field_type::string);
    EXPECT_TRUE(v.fields[0].required);
    EXPECT_TRUE(v.fields[0].non_empty);
    EXPECT_EQ(v.fields[2].type, field_type::boolean);
    EXPECT_FALSE(v.fields[2].required);
    ASSERT_EQ(v.renames.size(), 1u);
    EXPECT_EQ(v.renames[0], (std::pair<std::string, std::string>{"group", "customer_id"}));
    EXPECT_EQ(v.unknown, unknown_policy::drop);
    ASSERT_EQ(v.path_params.size(), 1u);
    EXPECT_EQ(v.path_params[0].param, "id");
    EXPECT_EQ(v.path_params[0].field, "group");
    EXPECT_EQ(v.path_params[0].mode, path_param_mode::check);
    EXPECT_EQ(v.upstream_method, "POST");
    EXPECT_EQ(v.upstream_path, "/api/update_customer/");
    EXPECT_EQ(v.response.copy, std::vector<std::string>{"success"});
    EXPECT_EQ(v.response.wrapper, "group");
    EXPECT_EQ(v.response.source, "customer");
    ASSERT_EQ(v.response.keys.size(), 2u);
    EXPECT_EQ(v.response.keys[0].from, "token");
    EXPECT_EQ(v.response.keys[0].as, "token");
    EXPECT_EQ(v.response.keys[1].from, "customer_id");
    EXPECT_EQ(v.response.keys[1].as, "group_id");
    EXPECT_EQ(v.errors, error_style::envelope);
    EXPECT_FALSE(v.deprecation.enabled);
}

TEST(RuleParse, UpstreamIdempotent) {
    EXPECT_FALSE(parse_rule("acme.json", base_rule).value.upstream_idempotent) << "default";
    const auto yes =
        parse_rule("acme.json", with(R"("path": "/api/update_customer/"})",
                                     R"("path": "/api/update_customer/", "idempotent": true})"));
    ASSERT_EQ(yes.error, "");
    EXPECT_TRUE(yes.value.upstream_idempotent);
    const auto no =
        parse_rule("acme.json", with(R"("path": "/api/update_customer/"})",
                                     R"("path": "/api/update_customer/", "idempotent": false})"));
    ASSERT_EQ(no.error, "");
    EXPECT_FALSE(no.value.upstream_idempotent);
    expect_error(with(R"("path": "/api/update_customer/"})",
                      R"("path": "/api/update_customer/", "idempotent": "yes"})"),
                 "upstream.idempotent: expected true or false, got a string");
    expect_error(
        with(R"("path": "/api/update_customer/"})",
             R"("path": "/api/update_customer/", "idempotent": true, "idempotent": true})"),
        "upstream.idempotent: duplicate key");
}

TEST(RuleParse, AllFieldTypes) {
    const auto r = parse_rule("acme.json", with(R"("demo": "boolean")", R"("a": "object",
        "b": "array", "c": "number", "d": "date", "e": "date-time", "f": "any",
        "g": {"type": "array", "non_empty": true}, "h": {"type": "any", "required": false})"));
    ASSERT_EQ(r.error, "");
    ASSERT_EQ(r.value.fields.size(), 10u);
    const field_type want[] = {field_type::object, field_type::array,     field_type::number,
                               field_type::date,   field_type::date_time, field_type::any,
                               field_type::array,  field_type::any};
    for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(r.value.fields[i + 2].type, want[i]) << i;
    EXPECT_TRUE(r.value.fields[8].non_empty);
}

TEST(RuleParse, InvalidJson) {
    const auto r = parse_rule("acme.json", R"({"name": "x",)");
    EXPECT_EQ(r.error.rfind("acme.json: invalid JSON: ", 0), 0u) << r.error;
    EXPECT_NE(parse_rule("acme.json", "[]").error.find("expected a rule object"),
              std::string::npos);
}

TEST(RuleParse, NameProblemsNameTheFile) {
    auto r = parse_rule("acme.json", with(R"("name": "acme-update",)", ""));
    EXPECT_EQ(r.error, R"(acme.json: missing required key "name")");
    r = parse_rule("acme.json", with(R"("acme-update")", R"("acme update")"));
    EXPECT_EQ(r.error.rfind("acme.json: name: \"acme update\" may only use", 0), 0u) << r.error;
    r = parse_rule("acme.json", with(R"("acme-update")", "7"));
    EXPECT_EQ(r.error, "acme.json: name: expected a string, got a number");
}

TEST(RuleParse, UnknownKeys) {
    expect_error(with(R"("errors")", R"("error")"),
                 "error: unknown key (expected name, description, dialect, match");
    expect_error(with(R"("body_has")", R"("bodyhas")",
                      with(R"("path": "/acme/{id}/group")",
                           R"("path": "/acme/{id}/group", "body_has": "x")")),
                 "match.bodyhas: unknown key (expected method, path, body_has)");
    expect_error(with(R"("required": true)", R"("requird": true)"),
                 "request.fields.group.requird: unknown key");
    expect_error(with(R"("as": "group_id")", R"("as": "group_id", "to": "x")"),
                 "response.keys[1].to: unknown key");
    expect_error(with(R"("mode": "check")", R"("mode": "check", "x": 1)"),
                 "request.path_params.id.x: unknown key");
}

TEST(RuleParse, DuplicateKeys) {
    expect_error(with(R"("errors": "envelope")", R"("errors": "envelope", "errors": "problem")"),
                 "errors: duplicate key");
    expect_error(with(R"("label": "string")", R"("label": "string", "label": "number")"),
                 "request.fields.label: duplicate key");
    expect_error(with(R"("method": "POST")", R"("method": "POST", "method": "PUT")"),
                 "upstream.method: duplicate key");
    expect_error(with(R"({"group": "customer_id"})", R"({"group": "customer_id", "group": "x"})"),
                 "request.renames.group: duplicate key");
}

TEST(RuleParse, WrongJsonTypes) {
    expect_error(with(R"("errors": "envelope")", R"("errors": 1)"),
                 "errors: expected a string, got a number");
    expect_error(with(R"("required": true)", R"("required": "yes")"),
                 "request.fields.group.required: expected true or false, got a string");
    expect_error(with(R"("label": "string")", R"("label": 3)"),
                 "request.fields.label: expected a type name or an object, got a number");
    expect_error(with(R"("copy": ["success"])", R"("copy": "success")"),
                 "response.copy: expected an array, got a string");
    expect_error(with(R"({"method": "POST", "path": "/api/update_customer/"})", "[]"),
                 "upstream: expected an object, got an array");
    expect_error(with(R"("schemes": ["Key"])", R"("schemes": [null])"),
                 "auth.accept[0].schemes[0]: expected a string, got null");
    expect_error(with(R"("keys": ["token", )", R"("keys": [true, )"),
                 "response.keys[0]: expected a key name");
}

TEST(RuleParse, MissingParts) {
    expect_error(with(R"("upstream": {"method": "POST", "path": "/api/update_customer/"},)", ""),
                 R"(missing required key "upstream")");
    expect_error(with(R"(, "path": "/acme/{id}/group")", ""),
                 R"(match: missing required key "path")");
    expect_error(with(R"("upstream": {"header": "Authorization", "scheme": "Token"})",
                      R"("upstream": {"header": "Authorization"})"),
                 R"(auth.upstream: missing required key "scheme")");
    expect_error(with(R"([{"header": "X-Acme-Key", "schemes": ["Key"]}])", "[]"),
                 "auth.accept: must not be empty");
    expect_error(with(R"(["Key"])", "[]"), "auth.accept[0].schemes: must not be empty");
    expect_error(
        with(R"("keys": ["token", {"from": "customer_id", "as": "group_id"}])", R"("keys": [])"),
        "response.keys: must not be empty");
    expect_error(with(R"("dialect": "acme")", R"("dialect": "")"), "dialect: must not be empty");
}

TEST(RuleParse, UnknownTypeAndNonEmpty) {
    expect_error(
        with(R"("demo": "boolean")", R"("demo": "bool")"),
        R"(request.fields.demo: unknown type "bool" (expected string|boolean|object|array|number|date|date-time|any))");
    expect_error(with(R"("type": "string")", R"("type": "text")"),
                 R"(request.fields.group.type: unknown type "text")");
    expect_error(with(R"("demo": "boolean")", R"("demo": {"type": "boolean", "non_empty": true})"),
                 "request.fields.demo.non_empty: only applies to string, object, array or any");
}

TEST(RuleParse, MethodAndPath) {
    expect_error(with(R"("method": "PUT")", R"("method": "PU T")"),
                 R"(match.method: "PU T" is not a valid method token)");
    expect_error(with(R"("method": "POST")", R"("method": "CONNECT")"),
                 "upstream.method: CONNECT cannot be translated");
    expect_error(with(R"("/acme/{id}/group")", R"("acme/{id}/group")"),
                 R"(match.path: "acme/{id}/group" must start with '/')");
    expect_error(with(R"("/api/update_customer/")", R"("api/update_customer/")"),
                 R"(upstream.path: "api/update_customer/" must start with '/')");
    expect_error(with(R"("/acme/{id}/group")", R"("/acme//{id}/group")"),
                 "is not in normalised form");
    expect_error(with(R"("/acme/{id}/group")", R"("/acme/./{id}")"), "is not in normalised form");
    expect_error(with(R"("/acme/{id}/group")", R"("/%61cme/{id}")"), "is not in normalised form");
    expect_error(with(R"("/acme/{id}/group")", R"("/acme/%zz/{id}")"), "is not a valid path");
    expect_error(with(R"("/acme/{id}/group")", R"("/acme/x{id}/group")"),
                 "match.path: a parameter must be a whole segment");
    expect_error(with(R"("/acme/{id}/group")", R"("/acme/{id}/{id}")"),
                 R"(parameter "{id}" used twice)");
    expect_error(with(R"("/acme/{id}/group")", R"("/acme/{1d}/group")"),
                 R"(parameter "{1d}": name must be)");
    expect_error(with(R"("/acme/{id}/group")", R"("/acme /{id}")"),
                 "character ' ' must be percent-encoded");
    expect_error(with(R"("/api/update_customer/")", R"("/api/update?x=1")"),
                 "upstream.path: \"/api/update?x=1\": character '?' is not allowed");
}

TEST(RuleParse, ParamsMustBeInTheTemplate) {
    expect_error(with(R"("/api/update_customer/")", R"("/users/{user}")"),
                 R"(upstream.path: {user} is not a parameter of match.path "/acme/{id}/group")");
    expect_error(with(R"("/api/update_customer/")", R"("/users/{id")"), "malformed parameter");
    expect_error(with(R"("path_params": {"id")", R"("path_params": {"uid")"),
                 R"(request.path_params.uid: no {uid} in match.path "/acme/{id}/group")");
    expect_error(with(R"("field": "group")", R"("field": "nope")"),
                 R"(request.path_params.id.field: "nope" is not a declared field)");
    expect_error(with(R"("field": "group")", R"("field": "demo")"),
                 R"(request.path_params.id.field: "demo" must be declared as string or any)");
    expect_error(with(R"("mode": "check")", R"("mode": "set")"),
                 R"(request.path_params.id.mode: unknown mode "set" (expected check|inject))");
    // inject may name a field the client does not send
    EXPECT_EQ(parse_rule("acme.json", with(R"("field": "group", "mode": "check")",
                                           R"("field": "owner", "mode": "inject")"))
                  .error,
              "");
}

TEST(RuleParse, Renames) {
    expect_error(with(R"({"group": "customer_id"})", R"({"grp": "customer_id"})"),
                 R"(request.renames.grp: "grp" is not a declared field)");
    expect_error(with(R"({"group": "customer_id"})", R"({"group": "label"})"),
                 R"(request.renames.group: target "label" is also a declared field)");
    expect_error(with(R"({"group": "customer_id"})", R"({"group": "group"})"),
                 "request.renames.group: renames the field to itself");
    expect_error(with(R"({"group": "customer_id"})", R"({"group": "x", "label": "x"})"),
                 R"(request.renames.label: target "x" is also the target of "group")");
}

TEST(RuleParse, Policies) {
    expect_error(with(R"("unknown_fields": "drop")", R"("unknown_fields": "ignore")"),
                 R"(request.unknown_fields: unknown policy "ignore" (expected pass|drop|reject))");
    expect_error(with(R"("errors": "envelope")", R"("errors": "rfc9457")"),
                 R"(errors: unknown style "rfc9457" (expected envelope|problem))");
    auto r = parse_rule("acme.json",
                        with(R"("unknown_fields": "drop")", R"("unknown_fields": "reject")"));
    EXPECT_EQ(r.value.unknown, unknown_policy::reject);
    r = parse_rule("acme.json", with(R"(,
    "unknown_fields": "drop")",
                                     ""));
    EXPECT_EQ(r.value.unknown, unknown_policy::pass);  // the contract's default
    r = parse_rule("acme.json", with(R"("errors": "envelope")", R"("errors": "problem")"));
    EXPECT_EQ(r.value.errors, error_style::problem);
}

TEST(RuleParse, Auth) {
    expect_error(with(R"("X-Acme-Key")", R"("X Acme")"),
                 R"(auth.accept[0].header: "X Acme" is not a valid header name)");
    expect_error(with(R"(["Key"])", R"(["Key", "KEY"])"), R"(scheme "KEY" listed twice)");
    expect_error(
        with(
            R"({"header": "X-Acme-Key", "schemes": ["Key"]})",
            R"({"header": "X-Acme-Key", "schemes": ["Key"]}, {"header": "x-acme-key", "schemes": ["Token"]})"),
        R"(auth.accept[1].header: "x-acme-key" listed twice)");
    expect_error(with(R"({"header": "Authorization", "scheme": "Token"})",
                      R"({"header": "Host", "scheme": "Token"})"),
                 R"(auth.upstream.header: "Host" is set by the proxy itself)");
    expect_error(with(R"("scheme": "Token")", R"("scheme": "To ken")"),
                 R"(auth.upstream.scheme: "To ken" is not a valid auth scheme)");
}

TEST(RuleParse, Response) {
    expect_error(with(R"(["success"])", R"(["success", "success"])"),
                 R"(response.copy: "success" listed twice)");
    expect_error(with(R"("wrapper": "group")", R"("wrapper": "success")"),
                 R"(response.wrapper: "success" is also in response.copy)");
    expect_error(with(R"("as": "group_id")", R"("as": "token")"),
                 R"(response.keys[1]: the client would get key "token" twice)");
    expect_error(with(R"({"from": "customer_id", "as": "group_id"})", R"({"from": "customer_id"})"),
                 R"(response.keys[1]: missing required key "as")");
    // Without a wrapper the keys share the top level with the copied ones.
    expect_error(
        with(R"("wrapper": "group")", R"("wrapper": "")", with(R"("token")", R"("success")")),
        R"(the client would get key "success" twice)");
}

TEST(RuleParse, Deprecation) {
    const std::string dep = R"("errors": "envelope", "deprecation": {"deprecation": "2024-01-01",
        "sunset": "2027-06-30", "successor": "/api/update_customer/"})";
    auto r = parse_rule("acme.json", with(R"("errors": "envelope")", dep));
    ASSERT_EQ(r.error, "");
    EXPECT_TRUE(r.value.deprecation.enabled);
    EXPECT_EQ(r.value.deprecation.deprecation_unix, 1704067200);
    EXPECT_EQ(r.value.deprecation.sunset, "Wed, 30 Jun 2027 00:00:00 GMT");
    EXPECT_EQ(r.value.deprecation.successor, "/api/update_customer/");

    r = parse_rule("acme.json", with(R"("2024-01-01")", R"("2024-01-01T02:30:00.5+02:00")",
                                     with(R"("errors": "envelope")", dep)));
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.value.deprecation.deprecation_unix, 1704067200 + 30 * 60);
    r = parse_rule("acme.json", with(R"("2027-06-30")", R"("2024-02-29T23:59:59Z")",
                                     with(R"("errors": "envelope")", dep)));
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.value.deprecation.sunset, "Thu, 29 Feb 2024 23:59:59 GMT");

    for (const char* bad :
         {"2024-13-01", "2023-02-29", "2024-1-1", "01/01/2024", "2024-01-01T25:00:00Z",
          "2024-01-01T00:00:00", "2024-01-01 00:00:00Z", "1969-12-31",
          "2016-12-31T23:59:60Z"}) {  // rule dates refuse a leap second (client values take it)
        expect_error(
            with(R"("2024-01-01")", "\"" + std::string(bad) + "\"",
                 with(R"("errors": "envelope")", dep)),
            "deprecation.deprecation: \"" + std::string(bad) + "\" is not an RFC 3339 date");
    }
    expect_error(with(R"("2027-06-30")", R"("2023-06-30")", with(R"("errors": "envelope")", dep)),
                 "deprecation.sunset: is before the deprecation date");
    expect_error(with(R"("successor": "/api/update_customer/")",
                      R"("successor": "/api/update_customer/>; rel=x")",
                      with(R"("errors": "envelope")", dep)),
                 "deprecation.successor: \"/api/update_customer/>; rel=x\": character not allowed");
    expect_error(with(R"("successor": "/api/update_customer/")", R"("successor": "api/x")",
                      with(R"("errors": "envelope")", dep)),
                 R"(deprecation.successor: "api/x" must be a path or an http(s) URL)");
    expect_error(with(R"("errors": "envelope")",
                      R"("errors": "envelope", "deprecation": {"sunset": "2027-06-30"})"),
                 R"(deprecation: missing required key "deprecation")");
}

// The retirement schedule (contract §6.1): after_sunset and dated brownout windows.
TEST(RuleParse, DeprecationSchedule) {
    const auto schedule = [](std::string_view extra) {
        return with(R"("errors": "envelope")",
                    R"("errors": "envelope", "deprecation": {"deprecation": "2024-01-01",
                       "sunset": "2027-06-30T00:00:00Z", "successor": "/api/update_customer/")" +
                        std::string(extra) + "}");
    };
    auto r = parse_rule("acme.json", schedule(R"(, "after_sunset": "serve", "brownouts": [
        {"start": "2027-06-01T14:00:00Z", "duration": 86400},
        {"start": "2027-05-04T14:00:00Z", "duration": "12h"},
        {"start": "2027-05-04T02:00:00Z", "duration": "720m"}])"));
    ASSERT_EQ(r.error, "");
    const deprecation_rule& d = r.value.deprecation;
    EXPECT_EQ(d.after_sunset, after_sunset_policy::serve);
    ASSERT_TRUE(d.sunset_unix.has_value());
    EXPECT_EQ(*d.sunset_unix, 1814313600);
    // Sorted by start; touching windows ([02:00, 14:00) then [14:00, 02:00)) are not overlapping.
    ASSERT_EQ(d.brownouts.size(), 3u);
    EXPECT_EQ(d.brownouts[0].start_unix, 1809396000);
    EXPECT_EQ(d.brownouts[0].end_unix, 1809396000 + 12 * 3600);
    EXPECT_EQ(d.brownouts[1].start_unix, 1809439200);
    EXPECT_EQ(d.brownouts[1].end_unix, 1809439200 + 12 * 3600);
    EXPECT_EQ(d.brownouts[2].end_unix - d.brownouts[2].start_unix, 86400);

    r = parse_rule("acme.json", schedule(""));
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.value.deprecation.after_sunset, after_sunset_policy::refuse);  // the default
    EXPECT_TRUE(r.value.deprecation.brownouts.empty());

    expect_error(schedule(R"(, "after_sunset": "maybe")"),
                 R"(deprecation.after_sunset: "maybe" is not one of "refuse", "serve")");
    expect_error(schedule(R"(, "brownouts": [{"start": "2027-05-04T14:00:00Z", "duration": "12h"},
                                              {"start": "2027-05-05T01:00:00Z", "duration": 7200}])"),
                 "deprecation.brownouts[1]: overlaps deprecation.brownouts[0]");
    expect_error(
        schedule(R"(, "brownouts": [{"start": "2027-06-29T14:00:00Z", "duration": "1d"}])"),
        "deprecation.brownouts[0]: ends after the sunset");
    // Ending exactly at the sunset is inside the schedule.
    EXPECT_EQ(parse_rule("acme.json", schedule(R"(, "brownouts": [
        {"start": "2027-06-29T00:00:00Z", "duration": "1d"}])"))
                  .error,
              "");
    expect_error(schedule(R"(, "brownouts": [{"start": "2023-12-31T00:00:00Z", "duration": 60}])"),
                 "deprecation.brownouts[0]: starts before the deprecation date");
    expect_error(schedule(R"(, "brownouts": [{"start": "2016-12-31T23:59:60Z", "duration": 60}])"),
                 R"(deprecation.brownouts[0].start: "2016-12-31T23:59:60Z" is not an RFC 3339)");
    for (const char* bad : {"0", "-5", "1.5", "\"12\"", "\"h\"", "\"12w\"", "\"-1h\"", "\"1 h\"",
                            "\"999999999d\"", "true"}) {
        expect_error(schedule(R"(, "brownouts": [{"start": "2027-05-04T14:00:00Z", "duration": )" +
                              std::string(bad) + "}]"),
                     "deprecation.brownouts[0].duration: must be a whole number of seconds");
    }
    expect_error(schedule(R"(, "brownouts": [{"start": "2027-05-04T14:00:00Z"}])"),
                 R"(deprecation.brownouts[0]: missing required key "duration")");
    expect_error(schedule(R"(, "brownouts": {"start": "2027-05-04T14:00:00Z"})"),
                 "deprecation.brownouts: expected an array, got an object");
}

// ------------------------------------------------------------------ directories

using fixtures::temp_dir;

TEST(RuleLoad, DefaultRulesDirectory) {
    const auto loaded = load_rules(SHIMGATE_SOURCE_DIR "/rules");
    ASSERT_EQ(loaded.error, "");
    const auto& rules = loaded.rules->rules;
    ASSERT_EQ(rules.size(), 4u);
    // body_has rules first, the rest in file-name order
    EXPECT_EQ(rules[0].name, "stateset-update-user-group");
    EXPECT_EQ(rules[1].name, "explo-update-user-group");
    EXPECT_EQ(rules[2].name, "mintlify-update-user");
    EXPECT_EQ(rules[3].name, "stateset-update-user");
    // What a translated call drops from the client's head: every dialect's credential, once.
    EXPECT_EQ(loaded.rules->credential_headers,
              (std::vector<std::string>{"authorization", "explo-authorization"}));
    // The canonical update sets values: every default rule may be sent twice.
    for (const rule& r : rules) EXPECT_TRUE(r.upstream_idempotent) << r.name;

    const rule& explo = rules[1];
    EXPECT_EQ(explo.accept[0].header, "Explo-Authorization");
    EXPECT_TRUE(explo.deprecation.enabled);
    EXPECT_EQ(explo.deprecation.deprecation_unix, 1704067200);
    EXPECT_EQ(explo.deprecation.sunset, "Wed, 30 Jun 2027 00:00:00 GMT");
    EXPECT_EQ(explo.deprecation.successor, "/api/update_customer/");
    ASSERT_EQ(explo.response.keys.size(), 7u);
    EXPECT_EQ(explo.response.keys[3].as, "provided_id");
    EXPECT_EQ(explo.response.keys[4].as, "is_demo_group");

    const rule& mintlify = rules[2];
    EXPECT_FALSE(mintlify.deprecation.enabled);
    EXPECT_EQ(mintlify.errors, error_style::envelope);
    for (const auto& f : mintlify.fields) EXPECT_NE(f.name, "is_demo_group");

    const rule& group = rules[0];
    EXPECT_EQ(group.body_has, "user_group_id");
    EXPECT_EQ(group.accept[0].schemes, (std::vector<std::string>{"Token", "Bearer"}));
    EXPECT_EQ(group.upstream_path, "/api/update_customer/");
    EXPECT_EQ(group.errors, error_style::problem);
    ASSERT_EQ(group.path_params.size(), 1u);
    EXPECT_EQ(group.path_params[0].field, "user_group_id");

    const rule& user = rules[3];
    EXPECT_EQ(user.upstream_method, "PUT");
    EXPECT_EQ(user.upstream_path, "/v1/users/{id}");
    ASSERT_EQ(user.fields.size(), 18u);
    ASSERT_EQ(user.response.keys.size(), 18u);
    EXPECT_EQ(user.response.wrapper, "");
    EXPECT_TRUE(user.response.copy.empty());
    for (std::size_t i = 0; i < 18; ++i) EXPECT_EQ(user.fields[i].name, user.response.keys[i].as);
    EXPECT_EQ(user.fields[4].type, field_type::date);       // birthday
    EXPECT_EQ(user.fields[9].type, field_type::date_time);  // last_seen
}

// A new dialect is a new file: no C++ involved.
TEST(RuleLoad, FourthVendorFromATempDir) {
    temp_dir dir;
    dir.write("globex.json", R"({
      "name": "globex-rename-team",
      "dialect": "globex",
      "description": "Globex PATCH /teams/{team}/profile -> Customer API",
      "match": {"method": "PATCH", "path": "/teams/{team}/profile", "body_has": "team_ref"},
      "auth": {"accept": [{"header": "X-Globex-Key", "schemes": ["ApiKey"]}],
               "upstream": {"header": "Authorization", "scheme": "Token"}},
      "request": {
        "fields": {"team_ref": {"type": "string", "required": true, "non_empty": true},
                   "tags": {"type": "array", "non_empty": true}, "since": "date-time"},
        "renames": {"team_ref": "customer_id"},
        "unknown_fields": "reject",
        "path_params": {"team": {"field": "team_ref", "mode": "inject"}}
      },
      "upstream": {"method": "POST", "path": "/api/teams/{team}/update/"},
      "response": {"copy": ["success"], "source": "customer",
                   "keys": [{"from": "customer_id", "as": "team_ref"}, "name"]},
      "errors": "problem",
      "deprecation": {"deprecation": "2025-03-01T12:00:00Z"}
    })");
    dir.write("README.md", "not a rule");
    const auto loaded = load_rules(dir.path());
    ASSERT_EQ(loaded.error, "");
    ASSERT_EQ(loaded.rules->rules.size(), 1u);
    const rule& r = loaded.rules->rules[0];
    EXPECT_EQ(r.file, (dir.path() / "globex.json").string());
    EXPECT_EQ(r.method, "PATCH");
    EXPECT_EQ(r.unknown, unknown_policy::reject);
    EXPECT_EQ(r.path_params[0].mode, path_param_mode::inject);
    EXPECT_EQ(r.accept[0].schemes[0], "ApiKey");
    EXPECT_EQ(r.deprecation.deprecation_unix, 1740830400);
    EXPECT_EQ(r.deprecation.sunset, "");
}

TEST(RuleLoad, DirectoryProblems) {
    EXPECT_NE(load_rules("/nonexistent/shimgate").error.find("/nonexistent/shimgate: "),
              std::string::npos);
    temp_dir empty;
    empty.write("README.md", "# nothing");
    EXPECT_EQ(load_rules(empty.path()).error, empty.path().string() + ": no rule files (*.json)");
    temp_dir file_not_dir;
    file_not_dir.write("x.json", base_rule);
    EXPECT_EQ(load_rules(file_not_dir.path() / "x.json").error,
              (file_not_dir.path() / "x.json").string() + ": not a directory");
}

TEST(RuleLoad, BadFileIsNamedWithItsPath) {
    temp_dir dir;
    dir.write("a.json", base_rule);
    dir.write("b.json", with(R"("demo": "boolean")", R"("demo": "bool")"));
    const auto loaded = load_rules(dir.path());
    EXPECT_FALSE(loaded.rules);
    EXPECT_EQ(loaded.error.rfind((dir.path() / "b.json").string() + R"(: rule "acme-update": )", 0),
              0u)
        << loaded.error;
}

TEST(RuleLoad, DuplicateRuleNames) {
    temp_dir dir;
    dir.write("a.json", base_rule);
    dir.write("b.json", with(R"("PUT")", R"("PATCH")"));
    const auto loaded = load_rules(dir.path());
    EXPECT_EQ(loaded.error, (dir.path() / "b.json").string() +
                                R"(: rule "acme-update": name already used in )" +
                                (dir.path() / "a.json").string());
}

TEST(RuleLoad, AmbiguousRoutes) {
    temp_dir dir;
    dir.write("a.json", base_rule);
    // Same method and path shape (parameter names do not matter), both without body_has.
    dir.write("b.json", with(R"("acme-update")", R"("acme-other")",
                             with(R"("/acme/{id}/group")", R"("/acme/{other}/group")",
                                  with(R"("path_params": {"id")", R"("path_params": {"other")"))));
    auto loaded = load_rules(dir.path());
    EXPECT_NE(
        loaded.error.find(
            R"(b.json: rule "acme-other": match: same method, path and body_has as rule "acme-update")"),
        std::string::npos)
        << loaded.error;

    // Different body_has: fine, and the body_has rule is ordered first.
    const std::string with_body_has =
        with(R"("acme-update")", R"("acme-other")",
             with(R"("path": "/acme/{id}/group")",
                  R"("path": "/acme/{id}/group", "body_has": "group")"));
    dir.write("b.json", with_body_has);
    loaded = load_rules(dir.path());
    ASSERT_EQ(loaded.error, "");
    EXPECT_EQ(loaded.rules->rules[0].name, "acme-other");
    EXPECT_EQ(loaded.rules->rules[1].name, "acme-update");

    // Rules sharing a route must accept the same credentials and answer refusals alike.
    dir.write("b.json", with(R"(["Key"])", R"(["Key", "Bearer"])", with_body_has));
    loaded = load_rules(dir.path());
    EXPECT_NE(loaded.error.find(
                  R"(b.json: rule "acme-other": auth.accept: differs from rule "acme-update")"),
              std::string::npos)
        << loaded.error;
    dir.write("b.json", with(R"(["Key"])", R"(["KEY"])", with_body_has));  // schemes: any case
    EXPECT_EQ(load_rules(dir.path()).error, "");
    dir.write("b.json", with(R"("errors": "envelope")", R"("errors": "problem")", with_body_has));
    loaded = load_rules(dir.path());
    EXPECT_NE(
        loaded.error.find(R"(b.json: rule "acme-other": errors: differs from rule "acme-update")"),
        std::string::npos)
        << loaded.error;
    dir.write("b.json", with_body_has);

    // Both with the same body_has: ambiguous again.
    dir.write("a.json", with(R"("path": "/acme/{id}/group")",
                             R"("path": "/acme/{id}/group", "body_has": "group")"));
    loaded = load_rules(dir.path());
    EXPECT_NE(loaded.error.find("same method, path and body_has"), std::string::npos)
        << loaded.error;
}

}  // namespace
}  // namespace shimgate
