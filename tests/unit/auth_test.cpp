#include "proxy/auth.hpp"

#include <gtest/gtest.h>

namespace shimgate {
namespace {

namespace http = boost::beast::http;

rule explo_rule() {
    rule r;
    r.accept = {{"Explo-Authorization", {"Token"}}};
    return r;
}

rule stateset_rule() {
    rule r;
    r.accept = {{"Authorization", {"Token", "Bearer"}}};
    return r;
}

result<std::string_view> auth(const rule& r,
                              std::initializer_list<std::pair<std::string, std::string>> hs,
                              head_fields& f) {
    for (const auto& [name, value] : hs) f.add(name, value);
    return authenticate(r, f);
}

TEST(Auth, AcceptsTheRulesSchemeCaseInsensitively) {
    head_fields f1, f2, f3;
    auto a = auth(explo_rule(), {{"Explo-Authorization", "Token abc123"}}, f1);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a.value(), "abc123");
    a = auth(explo_rule(), {{"explo-authorization", "token abc123"}}, f2);
    ASSERT_TRUE(a);
    EXPECT_EQ(a.value(), "abc123");
    a = auth(stateset_rule(), {{"Authorization", "BEARER  x.y-z_~+/="}}, f3);
    ASSERT_TRUE(a);
    EXPECT_EQ(a.value(), "x.y-z_~+/=");
}

TEST(Auth, MissingNamesTheExpectedHeader) {
    head_fields f;
    // Only the rule's own headers count: a plain Authorization is no Explo credential.
    const auto a = auth(explo_rule(), {{"Authorization", "Token abc"}}, f);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().status, 401u);
    EXPECT_EQ(a.error().message,
              R"(missing credential: expected "Explo-Authorization: Token <token>")");
}

TEST(Auth, WrongScheme) {
    head_fields f1, f2;
    auto a = auth(explo_rule(), {{"Explo-Authorization", "Bearer abc"}}, f1);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().status, 401u);
    EXPECT_NE(a.error().message.find("Explo-Authorization"), std::string::npos);
    EXPECT_NE(a.error().message.find("wrong scheme"), std::string::npos);
    a = auth(stateset_rule(), {{"Authorization", "Basic dXNlcjpwdw=="}}, f2);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().message,
              "malformed Authorization credential (wrong scheme): expected \"Authorization: Token "
              "<token>\" or \"Authorization: Bearer <token>\"");
}

TEST(Auth, TwoCredentialHeadersAre400) {
    head_fields f1, f2;
    auto a =
        auth(stateset_rule(), {{"Authorization", "Token a"}, {"Authorization", "Token a"}}, f1);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().status, 400u);
    EXPECT_NE(a.error().message.find("two credential headers"), std::string::npos);

    rule both;
    both.accept = {{"Authorization", {"Token"}}, {"Explo-Authorization", {"Token"}}};
    a = auth(both, {{"Authorization", "Token a"}, {"Explo-Authorization", "Token b"}}, f2);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().status, 400u);
}

// A credential header of another dialect beside the rule's own is a second credential too (the
// upstream could read the call as coming from either caller); alone, it is no credential at all.
TEST(Auth, ACredentialHeaderOfAnyKnownDialectCountsAsASecond) {
    const std::vector<std::string> known{"authorization", "explo-authorization"};
    head_fields f1, f2, f3, f4;
    f1.add("Explo-Authorization", "Token a");
    f1.add("Authorization", "Token b");
    auto a = authenticate(explo_rule(), f1, known);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().status, 400u);
    EXPECT_EQ(a.error().reason, refusal_reason::auth);
    EXPECT_NE(a.error().message.find("two credential headers"), std::string::npos);

    f2.add("authorization", "Bearer b");  // order and case do not matter
    f2.add("explo-authorization", "Token a");
    a = authenticate(explo_rule(), f2, known);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().status, 400u);

    f3.add("Authorization", "Token a");  // two of another dialect, none of the rule's own
    f3.add("Authorization", "Token b");
    a = authenticate(explo_rule(), f3, known);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().status, 400u);

    f4.add("Explo-Authorization", "Token a");
    f4.add("X-Other", "Token b");  // not a credential header of the rule set
    a = authenticate(explo_rule(), f4, known);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a.value(), "a");

    head_fields f5;
    f5.add("Authorization", "Token a");
    a = authenticate(explo_rule(), f5, known);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().status, 401u);
}

TEST(Auth, EmptyOrMalformedToken) {
    for (const char* value : {"Token", "Token ", "Token a b", "Token a\tb", "Token a\x01", ""}) {
        head_fields f;
        const auto a = auth(explo_rule(), {{"Explo-Authorization", value}}, f);
        ASSERT_FALSE(a) << value;
        EXPECT_EQ(a.error().status, 401u) << value;
        EXPECT_NE(a.error().message.find("Explo-Authorization"), std::string::npos) << value;
    }
    head_fields f;
    EXPECT_FALSE(auth(explo_rule(), {{"Explo-Authorization", "Tokenabc"}}, f));
}

std::optional<refusal> content_type(std::initializer_list<std::string> values) {
    head_fields f;
    for (const auto& v : values) f.add(http::field::content_type, "Content-Type", v);
    return check_content_type(f);
}

TEST(AuthContentType, JsonAccepted) {
    EXPECT_FALSE(content_type({}));  // missing: read as JSON
    EXPECT_FALSE(content_type({"application/json"}));
    EXPECT_FALSE(content_type({"application/json; charset=utf-8"}));
    EXPECT_FALSE(content_type({"Application/JSON;charset=UTF-8"}));
    EXPECT_FALSE(content_type({"application/problem+json"}));
    EXPECT_FALSE(content_type({"application/merge-patch+JSON ; charset=utf-8"}));
}

TEST(AuthContentType, OthersRefused) {
    auto r = content_type({"text/plain"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 415u);
    EXPECT_NE(r->message.find("\"text/plain\""), std::string::npos);
    for (const char* t : {"application/x-www-form-urlencoded", "application/jsonx", "+json",
                          "application/+json", "json", "", "multipart/form-data; boundary=x"}) {
        r = content_type({t});
        ASSERT_TRUE(r) << t;
        EXPECT_EQ(r->status, 415u) << t;
    }
    r = content_type({"application/json", "application/json"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u);
}

}  // namespace
}  // namespace shimgate
