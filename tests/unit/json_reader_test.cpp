// The strict object reader (json_reader.hpp), the member list built with it (json_members.hpp) and
// unescaping: every byte of a body is checked in the one pass that locates its members.
#include "json/json_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "json/json_members.hpp"

namespace shimgate {
namespace {

struct walked {
    std::vector<json_member> members;
    std::string problem;  // empty: the walk reached the end of a valid object
    bool in_value = false;
};

walked walk(std::string_view text, std::string& scratch) {
    walked w;
    json_object_reader reader(text, scratch);
    if (!reader.open()) {
        w.problem = "<not an object>";
        return w;
    }
    json_member m;
    while (reader.next_key(m)) {
        if (!reader.read_value(m)) break;
        w.members.push_back(m);
    }
    if (!reader.done()) {
        w.problem = std::string(reader.problem());
        w.in_value = reader.problem_in_value();
    }
    return w;
}

std::string problem_of(std::string_view text) {
    std::string scratch;
    return walk(text, scratch).problem;
}

TEST(JsonReader, SeedBodyMembersAsWritten) {
    const std::string body = R"({
    "user_group_id": "example_1",
    "name": "Example 1",
    "mapping": {"40": "213", "134": "386"},
    "properties": {"filterValue": "value"}
})";
    std::string scratch;
    const walked w = walk(body, scratch);
    ASSERT_EQ(w.problem, "");
    ASSERT_EQ(w.members.size(), 4u);
    EXPECT_EQ(w.members[0].raw_key, R"("user_group_id")");
    EXPECT_EQ(w.members[0].key, "user_group_id");
    EXPECT_EQ(w.members[0].kind, json_kind::string);
    EXPECT_EQ(w.members[0].value, R"("example_1")");
    EXPECT_EQ(w.members[2].kind, json_kind::object);
    EXPECT_EQ(w.members[2].value, R"({"40": "213", "134": "386"})");
    EXPECT_EQ(w.members[3].value, R"({"filterValue": "value"})");
    EXPECT_TRUE(scratch.empty());  // nothing to unescape
}

TEST(JsonReader, KindsAndExactText) {
    std::string scratch;
    const walked w =
        walk(R"({"n":-0.5e+3 ,"t":true,"f":false,"z":null,"a":[1,{"b":[]}],"o":{}})", scratch);
    ASSERT_EQ(w.problem, "");
    ASSERT_EQ(w.members.size(), 6u);
    EXPECT_EQ(w.members[0].kind, json_kind::number);
    EXPECT_EQ(w.members[0].value, "-0.5e+3");
    EXPECT_EQ(w.members[1].kind, json_kind::boolean);
    EXPECT_EQ(w.members[2].kind, json_kind::boolean);
    EXPECT_EQ(w.members[3].kind, json_kind::null);
    EXPECT_EQ(w.members[4].kind, json_kind::array);
    EXPECT_EQ(w.members[4].value, R"([1,{"b":[]}])");
    EXPECT_EQ(w.members[5].kind, json_kind::object);
}

TEST(JsonReader, EscapedKeysAndStrings) {
    std::string scratch;
    json_object_reader reader(R"({"\u0061\n":"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00y"})", scratch);
    ASSERT_TRUE(reader.open());
    json_member m;
    ASSERT_TRUE(reader.next_key(m));
    EXPECT_EQ(m.raw_key, R"("\u0061\n")");
    EXPECT_EQ(m.key, "a\n");
    ASSERT_TRUE(reader.read_value(m));
    EXPECT_TRUE(m.escaped_value);
    std::string_view s;
    ASSERT_TRUE(reader.string_content(m, s));
    EXPECT_EQ(s, "x\"\\/\b\f\n\r\t\xC3\xA9\xF0\x9F\x98\x80y");
    EXPECT_EQ(m.key, "a\n");  // still valid: the scratch buffer did not move
    EXPECT_FALSE(reader.next_key(m));
    EXPECT_TRUE(reader.done());
}

TEST(JsonReader, AppendUnescaped) {
    std::string out;
    append_unescaped(out, R"("plain")");
    EXPECT_EQ(out, "plain");
    out.clear();
    append_unescaped(out, R"("\u0000\u007f\u0080\u07ff\u0800\uffff\udbff\udfff")");
    EXPECT_EQ(out,
              std::string("\0\x7f\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF4\x8F\xBF\xBF", 16));
}

TEST(JsonReader, EveryByteBetweenMembersIsChecked) {
    // What On-Demand let through when it skipped a value: a ':' where ',' belongs.
    EXPECT_EQ(problem_of(R"({"up_id":"g","mappingad":"g":NaN}})"), "expected ',' or '}'");
    EXPECT_EQ(problem_of(R"({"a":"x","n":"x":NaN}})"), "expected ',' or '}'");
    EXPECT_EQ(problem_of(R"({"a":1 2})"), "expected ',' or '}'");
    EXPECT_EQ(problem_of(R"({"a":1,})"), "expected a key");
    EXPECT_EQ(problem_of(R"({"a" 1})"), "expected ':'");
    EXPECT_EQ(problem_of(R"({a:1})"), "expected a key");
    EXPECT_EQ(problem_of(R"({"a":1)"), "unexpected end of value");
    EXPECT_EQ(problem_of(R"({"a":)"), "unexpected end of value");
    EXPECT_EQ(problem_of(R"({"a":1}})"), "trailing content after the object");
    EXPECT_EQ(problem_of(R"({"a":1} x)"), "trailing content after the object");
    EXPECT_EQ(problem_of(R"({"a":1}{})"), "trailing content after the object");
    EXPECT_EQ(problem_of("[1]"), "<not an object>");
    EXPECT_EQ(problem_of(" "), "<not an object>");
    EXPECT_EQ(problem_of(" {} \n"), "");
}

TEST(JsonReader, EveryByteOfAValueIsChecked) {
    for (const char* bad : {R"({"m":{"a":tru}})",
                            R"({"m":{"a":"\x"}})",
                            R"({"m":{"a":[1,2}}})",
                            R"({"m":{"a":1,}})",
                            R"({"m":{"a":01}})",
                            R"({"m":{"\ud800":1}})",
                            R"({"m":[nul]})",
                            R"({"m":[1 2]})",
                            "{\"m\":\"\x01\"}",
                            "{\"m\":\"\xFF\"}",
                            "{\"m\":\"\xC0\x80\"}",
                            R"({"m":"\ud800"})",
                            R"({"m":"\udc00\ud800"})",
                            R"({"m":1.})",
                            R"({"m":-})",
                            R"({"m":1e})",
                            R"({"m":.5})",
                            R"({"m":NaN})",
                            R"({"m":"abc)",
                            R"({"m":{"k" 1}})"}) {
        std::string scratch;
        const walked w = walk(bad, scratch);
        EXPECT_NE(w.problem, "") << bad;
        EXPECT_TRUE(w.in_value) << bad;
    }
    EXPECT_EQ(problem_of(R"({"m":{"a":tru}})"), "invalid literal");
    // Long strings take the eight-bytes-at-a-time path: a bad byte anywhere is still found.
    for (std::size_t at = 0; at < 40; ++at) {
        std::string s(40, 'v');
        s[at] = '\x1f';
        EXPECT_EQ(problem_of(R"({"m":")" + s + "\"}"), "unescaped control character in string")
            << at;
        s[at] = '\xff';
        EXPECT_EQ(problem_of(R"({"m":")" + s + "\"}"), "invalid UTF-8 in string") << at;
    }
}

TEST(JsonReader, NestingIsLimitedPerValue) {
    const std::string ok =
        R"({"p":)" + std::string(max_json_depth, '[') + std::string(max_json_depth, ']') + "}";
    EXPECT_EQ(problem_of(ok), "");
    const std::string deep = R"({"p":)" + std::string(max_json_depth + 1, '[') +
                             std::string(max_json_depth + 1, ']') + "}";
    EXPECT_EQ(problem_of(deep), "nesting deeper than 1024 levels");
}

TEST(JsonReader, EnterObjectWalksItsMembersThenTheParent) {
    std::string scratch;
    json_object_reader reader(R"({"a":1,"src":{"x":"1","y":[2]},"b":3})", scratch);
    ASSERT_TRUE(reader.open());
    json_member m;
    std::vector<std::string> seen;
    while (reader.next_key(m)) {
        if (m.key == "src") {
            ASSERT_TRUE(reader.enter_object(m));
            while (reader.next_key(m)) {
                ASSERT_TRUE(reader.read_value(m));
                seen.push_back("src." + std::string(m.key) + "=" + std::string(m.value));
            }
            ASSERT_EQ(reader.problem(), "");
            continue;
        }
        ASSERT_TRUE(reader.read_value(m));
        seen.push_back(std::string(m.key) + "=" + std::string(m.value));
    }
    EXPECT_TRUE(reader.done());
    EXPECT_EQ(seen, (std::vector<std::string>{"a=1", "src.x=\"1\"", "src.y=[2]", "b=3"}));

    json_object_reader not_object(R"({"src":[1]})", scratch);
    ASSERT_TRUE(not_object.open());
    ASSERT_TRUE(not_object.next_key(m));
    EXPECT_FALSE(not_object.enter_object(m));
    EXPECT_EQ(m.kind, json_kind::array);
    EXPECT_EQ(not_object.problem(), "");
}

TEST(JsonMembers, ViewsOfTheBodyAndTheContext) {
    json_context ctx;
    const std::string body = R"({"user_group_id":"g","\u006e":1})";
    const body_members read = read_members(body, ctx);
    ASSERT_EQ(read.read.st, object_read::status::ok);
    EXPECT_EQ(read.text.data(), body.data());
    ASSERT_EQ(read.members.size(), 2u);
    EXPECT_EQ(read.members.data(), ctx.members.data());
    EXPECT_EQ(read.keys.data(), ctx.keys.data());
    EXPECT_EQ(read.members[0].value, R"("g")");
    EXPECT_EQ(read.members[0].value.data(), body.data() + 17);  // in the body, not a copy
    EXPECT_EQ(read.members[1].key, "n");                        // unescaped into ctx.scratch
    EXPECT_EQ(read.keys[1].text, "n");
}

TEST(JsonMembers, Verdicts) {
    json_context ctx;
    EXPECT_EQ(read_members("", ctx).read.st, object_read::status::not_object);
    EXPECT_EQ(read_members("[]", ctx).read.st, object_read::status::not_object);
    const object_read r = read_members(R"({"a":1,"b":[1}})", ctx).read;
    EXPECT_EQ(r.st, object_read::status::malformed);
    EXPECT_EQ(r.problem, "expected ',' or ']'");
    EXPECT_EQ(r.field, "b");
    const object_read gap = read_members(R"({"a":1 "b":2})", ctx).read;
    EXPECT_EQ(gap.problem, "expected ',' or '}'");
    EXPECT_EQ(gap.field.data(), nullptr);
    EXPECT_EQ(read_members(R"({"a":1)", ctx).read.problem, "unclosed object, or text after it");
    EXPECT_EQ(read_members(R"({"a":1} x)", ctx).read.problem, "unclosed object, or text after it");
}

}  // namespace
}  // namespace shimgate
