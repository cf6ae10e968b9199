// rewrite_response and render_refusal: the upstream Customer API's answers become each dialect's
// documented answer (only documented keys, documented order, values byte-for-byte), and every
// error is rendered in the route's style.
#include <gtest/gtest.h>

#include <string>

#include "json/json_validate.hpp"
#include "proxy/response_rewrite.hpp"

namespace shimgate {
namespace {

rule group_rule(bool explo, error_style style = error_style::envelope) {
    rule r;
    r.name = explo ? "explo" : "mintlify";
    r.errors = style;
    r.response.copy = {"success"};
    r.response.wrapper = "user_group";
    r.response.source = "customer";
    r.response.keys = {{"team_id", "team_id"},
                       {"token", "token"},
                       {"name", "name"},
                       {"customer_id", "provided_id"}};
    if (explo) r.response.keys.push_back({"is_demo_group", "is_demo_group"});
    r.response.keys.push_back({"properties", "properties"});
    r.response.keys.push_back({"api_environment_tag", "api_environment_tag"});
    return r;
}

const char* const profile_fields[] = {
    "id",           "active",    "avatar",   "bio",       "birthday",   "country",
    "email",        "firstName", "lastName", "last_seen", "last_typed", "location",
    "organization", "phone",     "regions",  "title",     "twitter",    "username"};

rule profile_rule() {
    rule r;
    r.name = "stateset-update-user";
    r.errors = error_style::problem;
    for (const char* f : profile_fields) r.response.keys.push_back({f, f});
    return r;
}

client_answer rewrite(const rule& r, unsigned status, std::string body) {
    static json_context ctx;
    client_answer a = rewrite_response(r, status, body, ctx);
    EXPECT_TRUE(check_json_value(a.body).ok) << a.body;
    return a;
}

const std::string customer_reply =
    R"({"success":1,"customer":{"customer_id":"example_1","team_id":113,"token":"t\u00e9k",)"
    R"("name":"Example 1","properties":{"filterValue": "value", "n": 1e400},)"
    R"("api_environment_tag":"Customer","is_demo_group":false,"internal_secret":"s3cr3t",)"
    R"("password_hash":"x"},"debug":{"trace":1}})";

TEST(RewriteSuccess, MintlifyEnvelope) {
    client_answer a = rewrite(group_rule(false), 200, customer_reply);
    EXPECT_EQ(a.status, 200u);
    EXPECT_EQ(a.content_type, "application/json");
    EXPECT_EQ(a.body,
              R"({"success":1,"user_group":{"team_id":113,"token":"t\u00e9k","name":"Example 1",)"
              R"("provided_id":"example_1","properties":{"filterValue": "value", "n": 1e400},)"
              R"("api_environment_tag":"Customer"}})");
}

TEST(RewriteSuccess, ExploEnvelopeHasDemoFlagAfterProvidedId) {
    client_answer a = rewrite(group_rule(true), 200, customer_reply);
    EXPECT_EQ(a.body,
              R"({"success":1,"user_group":{"team_id":113,"token":"t\u00e9k","name":"Example 1",)"
              R"("provided_id":"example_1","is_demo_group":false,)"
              R"("properties":{"filterValue": "value", "n": 1e400},)"
              R"("api_environment_tag":"Customer"}})");
}

TEST(RewriteSuccess, StateSetGroupUsesMintlifyEnvelope) {
    // The StateSet group rule is configured like Mintlify's answer, with problem-style errors.
    client_answer a = rewrite(group_rule(false, error_style::problem), 200, customer_reply);
    EXPECT_EQ(a.body, rewrite(group_rule(false), 200, customer_reply).body);
    EXPECT_EQ(a.content_type, "application/json");
}

TEST(RewriteSuccess, AbsentDocumentedKeysAreLeftOut) {
    client_answer a = rewrite(group_rule(true), 201,
                              R"({"customer":{"name":null,"customer_id":"c"},"success":1})");
    EXPECT_EQ(a.status, 201u);
    EXPECT_EQ(a.body, R"({"success":1,"user_group":{"name":null,"provided_id":"c"}})");
    EXPECT_EQ(rewrite(group_rule(false), 200, R"({"customer":{}})").body, R"({"user_group":{}})");
}

TEST(RewriteSuccess, StateSetProfileBareObjectInDocumentOrder) {
    // The upstream's order differs and it carries internal fields.
    const std::string reply =
        R"({"username":"ann","password_hash":"$2b$...","id":"u-1","twitter":"@ann",)"
        R"("title":"CTO","regions":"EU","phone":"+33","organization":"Org","location":"Paris",)"
        R"("last_typed":"2024-01-02T03:04:05Z","last_seen":"2024-01-02T03:04:05Z",)"
        R"("lastName":"Lee","firstName":"Ann","email":"a@b.c","country":"FR",)"
        R"("birthday":"1990-02-28","bio":"b\n","avatar":null,"active":true,"internal_score":0.5})";
    client_answer a = rewrite(profile_rule(), 200, reply);
    EXPECT_EQ(a.body,
              R"({"id":"u-1","active":true,"avatar":null,"bio":"b\n","birthday":"1990-02-28",)"
              R"("country":"FR","email":"a@b.c","firstName":"Ann","lastName":"Lee",)"
              R"("last_seen":"2024-01-02T03:04:05Z","last_typed":"2024-01-02T03:04:05Z",)"
              R"("location":"Paris","organization":"Org","phone":"+33","regions":"EU",)"
              R"("title":"CTO","twitter":"@ann","username":"ann"})");
    EXPECT_EQ(a.body.find("password_hash"), std::string::npos);
}

TEST(RewriteSuccess, EscapedUpstreamKeysAreMatchedUnescaped) {
    client_answer a = rewrite(group_rule(false), 200,
                              R"({"success":1,"customer":{"customer\u005fid":"c","team_id":-0}})");
    EXPECT_EQ(a.body, R"({"success":1,"user_group":{"team_id":-0,"provided_id":"c"}})");
}

TEST(RewriteMalformed, BadTwoHundredsBecome502) {
    for (const char* bad :
         {"", "not json", "[1]", R"({"success":1})", R"({"success":1,"customer":[]})",
          R"({"success":1,"customer":null})", R"({"success":1,"customer":{"name":tru}})",
          R"({"success":1,"customer":{"properties":{"a":[1}}}})",
          R"({"success":1,"customer":{"name":"a"}} x)", R"({"success":1,"customer":{"name":"a"})",
          R"({"success":1,"customer":{"name":"a","name":"b"}})",
          R"({"success":1,"success":0,"customer":{}})",
          R"({"success":1,"customer":{},"customer":{}})",
          R"({"success":1,"debug":{"bad":"\x"},"customer":{}})"}) {
        client_answer a = rewrite(group_rule(false), 200, bad);
        EXPECT_EQ(a.status, 502u) << bad;
        EXPECT_EQ(a.body, R"({"success":0,"error":"malformed upstream reply"})") << bad;
    }
    client_answer p = rewrite(profile_rule(), 200, R"({"id":"a","id":"b"})");
    EXPECT_EQ(p.status, 502u);
    EXPECT_EQ(p.content_type, "application/problem+json");
}

TEST(RewriteErrors, Upstream4xxKeepsItsWords) {
    client_answer a = rewrite(group_rule(false), 404,
                              R"({"success":0,"error":"customer \"x\" not found \u00e9\n"})");
    EXPECT_EQ(a.status, 404u);
    EXPECT_EQ(a.content_type, "application/json");
    EXPECT_EQ(a.body, "{\"success\":0,\"error\":\"customer \\\"x\\\" not found \xC3\xA9\\n\"}");

    client_answer p = rewrite(profile_rule(), 422, R"({"error":"bad email"})");
    EXPECT_EQ(p.status, 422u);
    EXPECT_EQ(p.content_type, "application/problem+json");
    EXPECT_EQ(p.body, R"({"type":"about:blank","title":"Unprocessable Entity","status":422,)"
                      R"("detail":"bad email"})");
    // A problem document from the upstream: its detail.
    EXPECT_EQ(rewrite(group_rule(false), 409, R"({"title":"Conflict","detail":"taken"})").body,
              R"({"success":0,"error":"taken"})");
}

TEST(RewriteErrors, Upstream4xxWithoutAnErrorGetsAGenericMessage) {
    for (const char* body : {"", "<html>nope</html>", R"({"error":17})", R"({"error":""})",
                             R"({"error":"x"} trailing)", "[]"}) {
        client_answer a = rewrite(group_rule(false), 403, body);
        EXPECT_EQ(a.status, 403u);
        EXPECT_EQ(a.body,
                  R"j({"success":0,"error":"upstream refused the request (403 Forbidden)"})j")
            << body;
    }
}

TEST(RewriteErrors, Upstream5xxAndOddStatusesAre502) {
    client_answer a = rewrite(group_rule(false), 500, R"({"success":0,"error":"db down"})");
    EXPECT_EQ(a.status, 502u);
    EXPECT_EQ(a.body, R"({"success":0,"error":"upstream error 500"})");
    client_answer p = rewrite(profile_rule(), 503, "");
    EXPECT_EQ(p.status, 502u);
    EXPECT_EQ(p.body, R"({"type":"about:blank","title":"Bad Gateway","status":502,)"
                      R"("detail":"upstream error 503"})");
    EXPECT_EQ(rewrite(group_rule(false), 302, "").status, 502u);
    EXPECT_EQ(rewrite(group_rule(false), 302, "").body,
              R"({"success":0,"error":"unexpected upstream status 302"})");
    EXPECT_EQ(rewrite(group_rule(false), 101, "").status, 502u);
}

TEST(RewriteRefusal, EnvelopeStyle) {
    client_answer a = render_refusal(
        error_style::envelope,
        {400, "field \"is_demo_group\" must be a boolean\\\n\x01", refusal_reason::type});
    EXPECT_EQ(a.status, 400u);
    EXPECT_EQ(a.content_type, "application/json");
    EXPECT_EQ(a.body,
              R"({"success":0,"error":"field \"is_demo_group\" must be a boolean\\\n\u0001"})");
}

TEST(RewriteRefusal, ProblemStyle) {
    client_answer a = render_refusal(error_style::problem,
                                     {401, "missing \"Authorization\"", refusal_reason::auth});
    EXPECT_EQ(a.status, 401u);
    EXPECT_EQ(a.content_type, "application/problem+json");
    EXPECT_EQ(a.body, R"({"type":"about:blank","title":"Unauthorized","status":401,)"
                      R"("detail":"missing \"Authorization\""})");
    EXPECT_EQ(render_refusal(error_style::problem, {400, "x", refusal_reason::framing}).body,
              R"({"type":"about:blank","title":"Bad Request","status":400,"detail":"x"})");
    EXPECT_EQ(render_refusal(error_style::problem, {413, "big", refusal_reason::size}).body,
              R"({"type":"about:blank","title":"Payload Too Large","status":413,"detail":"big"})");
    // Invalid UTF-8 in a message still renders valid JSON.
    client_answer b =
        render_refusal(error_style::problem, {477, "bad \xFF byte", refusal_reason::framing});
    EXPECT_EQ(b.body,
              "{\"type\":\"about:blank\",\"title\":\"Error\",\"status\":477,"
              "\"detail\":\"bad \xEF\xBF\xBD byte\"}");
    EXPECT_TRUE(check_json_value(b.body).ok);
}

}  // namespace
}  // namespace shimgate
