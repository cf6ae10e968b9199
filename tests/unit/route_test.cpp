#include "proxy/route.hpp"

#include <gtest/gtest.h>

#include "config/rule_loader.hpp"

namespace shimgate {
namespace {

const rule_set& default_rules() {
    static const rules_or_error loaded = load_rules(SHIMGATE_SOURCE_DIR "/rules");
    EXPECT_TRUE(loaded.error.empty()) << loaded.error;
    return *loaded.rules;
}

const rule* select(const path_match& m, std::string_view body) {
    static json_context ctx;
    return select_by_body(m, body, ctx).picked;
}

std::string pick(std::string_view method, std::string_view path, std::string_view body) {
    const auto m = match_route(default_rules(), method, path);
    const rule* r = select(m, body);
    return r ? r->name : "<pass-through>";
}

TEST(Route, DialectRoutes) {
    EXPECT_EQ(pick("PUT", "/api/user", "{}"), "mintlify-update-user");
    EXPECT_EQ(pick("POST", "/api/update_user_group/", "{}"), "explo-update-user-group");
}

TEST(Route, ExactMethodPathAndTrailingSlash) {
    EXPECT_EQ(pick("POST", "/api/user", "{}"), "<pass-through>");
    EXPECT_EQ(pick("put", "/api/user", "{}"), "<pass-through>");  // methods are case-sensitive
    EXPECT_EQ(pick("PUT", "/api/user/", "{}"), "<pass-through>");
    EXPECT_EQ(pick("POST", "/api/update_user_group", "{}"), "<pass-through>");
    EXPECT_EQ(pick("PUT", "/api/users", "{}"), "<pass-through>");
    EXPECT_EQ(pick("PUT", "/api", "{}"), "<pass-through>");
    EXPECT_EQ(pick("PUT", "/", "{}"), "<pass-through>");
}

TEST(Route, StateSetCapturesTheId) {
    const auto m = match_route(default_rules(), "PUT", "/v1/users/example_1");
    ASSERT_EQ(m.candidates.size(), 2u);
    EXPECT_EQ(m.candidates[0]->name, "stateset-update-user-group");  // body_has first
    ASSERT_EQ(m.params.size(), 1u);
    EXPECT_EQ(m.params[0].first, "id");
    EXPECT_EQ(m.params[0].second, "example_1");
}

TEST(Route, ParamIsOneNonEmptySegmentDecoded) {
    EXPECT_TRUE(match_route(default_rules(), "PUT", "/v1/users/").candidates.empty());
    EXPECT_TRUE(match_route(default_rules(), "PUT", "/v1/users").candidates.empty());
    EXPECT_TRUE(match_route(default_rules(), "PUT", "/v1/users/a/b").candidates.empty());
    const auto m = match_route(default_rules(), "PUT", "/v1/users/a%2Fb%20c");
    ASSERT_EQ(m.params.size(), 1u);
    EXPECT_EQ(m.params[0].second, "a/b c");
}

TEST(Route, StateSetBodyDecides) {
    const std::string path = "/v1/users/example_1";
    EXPECT_EQ(pick("PUT", path, R"({"user_group_id":"example_1","name":"Example 1"})"),
              "stateset-update-user-group");
    EXPECT_EQ(pick("PUT", path, R"({"name":"x", "user_group_id":"example_1"})"),
              "stateset-update-user-group");
    EXPECT_EQ(pick("PUT", path, R"({"id":"example_1","firstName":"Ada"})"), "stateset-update-user");
    EXPECT_EQ(pick("PUT", path, "{}"), "stateset-update-user");
    EXPECT_EQ(pick("PUT", path, ""), "stateset-update-user");
}

TEST(Route, BodyKeyIsTopLevelAndUnescaped) {
    const std::string path = "/v1/users/x";
    EXPECT_EQ(pick("PUT", path, R"({"user\u005fgroup_id":"x"})"), "stateset-update-user-group");
    EXPECT_EQ(pick("PUT", path, R"({"a":{"user_group_id":"x"}})"), "stateset-update-user");
    EXPECT_EQ(pick("PUT", path, R"({"a":"user_group_id"})"), "stateset-update-user");
    EXPECT_EQ(pick("PUT", path, R"(["user_group_id"])"), "stateset-update-user");
    EXPECT_EQ(pick("PUT", path, R"({"user_group_idx":"x"})"), "stateset-update-user");
}

TEST(Route, MalformedBodyFallsBackToTheRuleWithoutBodyHas) {
    const std::string path = "/v1/users/x";
    EXPECT_EQ(pick("PUT", path, R"({"user_group_id":)"), "stateset-update-user");
    EXPECT_EQ(pick("PUT", path, R"({"user_group_id":"x"} trailing)"), "stateset-update-user");
    EXPECT_EQ(pick("PUT", path, R"({"user_group_id":"x",})"), "stateset-update-user");
    EXPECT_EQ(pick("PUT", path, "not json"), "stateset-update-user");
}

rule make_rule(std::string name, std::string path, std::string body_has = "") {
    const std::string json = R"({"name":")" + name + R"(","dialect":"t",
        "match":{"method":"PUT","path":")" +
                             path + "\"" +
                             (body_has.empty() ? "" : R"(,"body_has":")" + body_has + "\"") + R"(},
        "auth":{"accept":[{"header":"Authorization","schemes":["Token"]}],
                "upstream":{"header":"Authorization","scheme":"Token"}},
        "request":{"fields":{}},"upstream":{"method":"PUT","path":"/x"},
        "response":{"keys":["id"]},"errors":"problem"})";
    auto parsed = parse_rule("t.json", json);
    EXPECT_EQ(parsed.error, "");
    return parsed.value;
}

TEST(Route, LiteralSegmentBeatsParameter) {
    rule_set rules;
    rules.rules.push_back(make_rule("by-id", "/v1/users/{id}"));
    rules.rules.push_back(make_rule("me", "/v1/users/me"));
    auto m = match_route(rules, "PUT", "/v1/users/me");
    ASSERT_EQ(m.candidates.size(), 1u);
    EXPECT_EQ(m.candidates[0]->name, "me");
    EXPECT_TRUE(m.params.empty());
    m = match_route(rules, "PUT", "/v1/users/you");
    ASSERT_EQ(m.candidates.size(), 1u);
    EXPECT_EQ(m.candidates[0]->name, "by-id");
}

TEST(Route, OnlyBodyHasRulesFallBackToTheFirst) {
    rule_set rules;
    rules.rules.push_back(make_rule("a", "/x/{id}", "a"));
    rules.rules.push_back(make_rule("b", "/x/{uid}", "b"));
    const auto m = match_route(rules, "PUT", "/x/7");
    ASSERT_EQ(m.candidates.size(), 2u);
    ASSERT_EQ(m.params.size(), 2u);  // each candidate's own parameter names
    EXPECT_EQ(select(m, R"({"b":1})")->name, "b");
    EXPECT_EQ(select(m, R"({"b":1,"a":2})")->name, "a");  // rule order, not key order
    EXPECT_EQ(select(m, R"({"c":1})")->name, "a");
}

TEST(Route, SelectionHandsItsMembersOver) {
    const auto m = match_route(default_rules(), "PUT", "/v1/users/u1");
    ASSERT_EQ(m.candidates.size(), 2u);
    json_context ctx;
    const std::string body = R"({"\u0075ser_group_id":"g","name":"n"})";
    const body_choice choice = select_by_body(m, body, ctx);
    ASSERT_NE(choice.picked, nullptr);
    EXPECT_EQ(choice.picked->name, "stateset-update-user-group");
    EXPECT_EQ(choice.body.text.data(), body.data());  // the body itself, not a copy
    ASSERT_EQ(choice.body.read.st, object_read::status::ok);
    ASSERT_EQ(choice.body.members.size(), 2u);
    EXPECT_EQ(choice.body.members[0].key, "user_group_id");
    EXPECT_EQ(choice.body.keys.size(), 2u);

    // A malformed body is read too (refused by the transform of the rule picked without it).
    const body_choice bad = select_by_body(m, R"({"user_group_id":"g",})", ctx);
    EXPECT_EQ(bad.picked->name, "stateset-update-user");
    EXPECT_EQ(bad.body.read.st, object_read::status::malformed);
    // Rules without body_has read the body as well: the transform takes the members from here.
    const auto single = match_route(default_rules(), "PUT", "/api/user");
    const body_choice one = select_by_body(single, R"({"a":1})", ctx);
    EXPECT_EQ(one.body.read.st, object_read::status::ok);
    EXPECT_EQ(one.body.members.size(), 1u);
}

TEST(Route, NoCandidates) {
    const auto m = match_route(default_rules(), "GET", "/healthz");
    EXPECT_TRUE(m.candidates.empty());
    EXPECT_EQ(select(m, "{}"), nullptr);
}

}  // namespace
}  // namespace shimgate
