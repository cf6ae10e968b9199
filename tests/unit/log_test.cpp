// observe/log in JSON format: every line is valid JSON whatever the message holds. The process
// log had its own escaper that copied bytes >= 0x80 as they were, so a message quoting invalid
// UTF-8 (a client's path, a header) made a line no JSON reader accepts; it now uses the shim's
// one escaper (json/json_writer append_json_string).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "json/json_validate.hpp"
#include "observe/log.hpp"

namespace shimgate {
namespace {

// The line log_info writes for `message` in JSON format.
std::string json_line(std::string_view message) {
    set_log_format(log_format::json);
    testing::internal::CaptureStderr();
    log_info(message);
    std::string line = testing::internal::GetCapturedStderr();
    set_log_format(log_format::text);
    return line;
}

// The "msg" member of a line, decoded; fails the test if the line is not valid JSON.
std::string logged_message(const std::string& line) {
    EXPECT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_TRUE(check_json_value(line).ok) << line;
    simdjson::dom::parser parser;
    std::string_view msg;
    EXPECT_EQ(parser.parse(line).get_object()["msg"].get_string().get(msg), simdjson::SUCCESS)
        << line;
    return std::string(msg);
}

TEST(LogJson, ValidUtf8IsKeptAsItIs) {
    const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xE4\xB8\xAD";  // é € 😀 中
    const std::string line = json_line(text);
    EXPECT_NE(line.find(text), std::string::npos) << line;  // written raw, not \u-escaped
    EXPECT_EQ(logged_message(line), text);
}

TEST(LogJson, InvalidUtf8BecomesReplacementCharacters) {
    // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate, a byte
    // never valid in UTF-8.
    const std::string text = "a\x80 b\xE2\x82 c\xC0\xAF d\xED\xA0\x80 e\xFF";
    const std::string line = json_line(text);
#define FFFD "\xEF\xBF\xBD"  // U+FFFD in UTF-8
    EXPECT_EQ(logged_message(line),
              "a" FFFD " b" FFFD FFFD " c" FFFD FFFD " d" FFFD FFFD FFFD " e" FFFD);
#undef FFFD
}

TEST(LogJson, QuotesBackslashesAndControlsAreEscaped) {
    const std::string text = "say \"hi\" C:\\tmp\n\t\x01 end\x7f";
    EXPECT_EQ(logged_message(json_line(text)), text);
}

}  // namespace
}  // namespace shimgate
