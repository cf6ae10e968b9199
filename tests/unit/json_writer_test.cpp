// The JSON text layer: escaping of the strings the shim writes itself, the strict validator that
// stands behind every raw span it copies, and the object writer.
#include <gtest/gtest.h>

#include <string>

#include "json/json_validate.hpp"
#include "json/json_writer.hpp"

namespace shimgate {
namespace {

std::string escaped(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

bool valid(std::string_view s) {
    return check_json_value(s).ok;
}

TEST(JsonWriter, EscapesQuoteBackslashAndControls) {
    EXPECT_EQ(escaped("plain"), R"("plain")");
    EXPECT_EQ(escaped("a\"b\\c/d"), R"("a\"b\\c/d")");
    EXPECT_EQ(escaped("\n\r\t\b\f"), R"("\n\r\t\b\f")");
    EXPECT_EQ(escaped(std::string_view("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
    EXPECT_EQ(escaped(""), R"("")");
}

TEST(JsonWriter, PassesValidUtf8AndReplacesInvalid) {
    EXPECT_EQ(escaped("caf\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x82\xAC"),
              "\"caf\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x82\xAC\"");
    EXPECT_EQ(escaped("a\xFF"
                      "b"),
              "\"a\xEF\xBF\xBD"
              "b\"");                                                // stray byte
    EXPECT_EQ(escaped("\xC3"), "\"\xEF\xBF\xBD\"");                  // truncated sequence
    EXPECT_EQ(escaped("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong '/'
    EXPECT_EQ(escaped("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
    EXPECT_TRUE(valid(escaped("x\xFFy\x01\"\\")));
}

TEST(JsonWriter, ObjectWriterPutsCommasAndNests) {
    std::string out;
    json_object_writer w(out);
    w.raw_key(R"("\u0061")");
    w.raw_value("1e400");
    w.key("we\"ird");
    json_object_writer inner(out);
    inner.key("k");
    inner.string_value("v\n");
    inner.close();
    w.key("empty");
    json_object_writer none(out);
    none.close();
    w.close();
    EXPECT_EQ(out, R"({"\u0061":1e400,"we\"ird":{"k":"v\n"},"empty":{}})");
    EXPECT_TRUE(valid(out));
}

TEST(JsonValidate, AcceptsTheGrammar) {
    for (std::string_view s :
         {"0", "-0", "1e400", "0.10000000000000000001", "-12.5E+3", "1E-2", "true", "false", "null",
          R"("")", R"("\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t")", "\"caf\xC3\xA9\"", "{}", "[]",
          " { \"a\" : [ 1 , { } , [ ] , \"x\" ] } \n", R"({"a":{"b":{"c":null}}})"}) {
        EXPECT_TRUE(valid(s)) << s;
    }
}

TEST(JsonValidate, RefusesWhatOnDemandWouldSkip) {
    for (std::string_view s : {"",
                               " ",
                               "tru",
                               "truex",
                               "nul",
                               "True",
                               "01",
                               "-",
                               "1.",
                               ".5",
                               "1e",
                               "+1",
                               "0x10",
                               "1 2",
                               R"("\x")",
                               R"("\u12")",
                               R"("\ud800")",
                               R"("\udc00")",
                               R"("\ud800\u0041")",
                               "\"a\x01\"",
                               "\"\xFF\"",
                               R"("open)",
                               "[1,2}",
                               "{\"a\":1]",
                               "{\"a\" 1}",
                               "{\"a\":1,}",
                               "[1,]",
                               "[,1]",
                               "{1:2}",
                               "{\"a\"}",
                               "[",
                               "{",
                               "]",
                               "{}}",
                               "[] []",
                               "NaN",
                               "Infinity"}) {
        EXPECT_FALSE(valid(s)) << s;
    }
}

TEST(JsonValidate, ReportsKindAndTrimmedText) {
    auto c = check_json_value("  {\"a\": 1}\t\n");
    ASSERT_TRUE(c.ok);
    EXPECT_EQ(c.kind, json_kind::object);
    EXPECT_EQ(c.text, "{\"a\": 1}");
    EXPECT_EQ(check_json_value("-3 ").kind, json_kind::number);
    EXPECT_EQ(check_json_value("-3 ").text, "-3");
    EXPECT_EQ(check_json_value("false").kind, json_kind::boolean);
    EXPECT_EQ(check_json_value("null").kind, json_kind::null);
    EXPECT_EQ(check_json_value("[ ]").kind, json_kind::array);
    EXPECT_EQ(check_json_value(R"("s")").kind, json_kind::string);
    EXPECT_EQ(check_json_value("tru").problem, "invalid literal");
}

TEST(JsonValidate, DepthIsLimitedNotRecursive) {
    const std::string ok = std::string(max_json_depth, '[') + std::string(max_json_depth, ']');
    EXPECT_TRUE(valid(ok));
    const std::string deep =
        std::string(max_json_depth + 1, '[') + std::string(max_json_depth + 1, ']');
    EXPECT_EQ(check_json_value(deep).problem, "nesting deeper than 1024 levels");
    const std::string huge = std::string(1'000'000, '[') + std::string(1'000'000, ']');
    EXPECT_FALSE(valid(huge));
}

TEST(JsonValidate, EmptyContainers) {
    EXPECT_TRUE(is_empty_container("{}"));
    EXPECT_TRUE(is_empty_container("[ \n ]"));
    EXPECT_FALSE(is_empty_container("{\"a\":1}"));
    EXPECT_FALSE(is_empty_container("[0]"));
    EXPECT_FALSE(is_empty_container(R"("")"));
}

}  // namespace
}  // namespace shimgate
