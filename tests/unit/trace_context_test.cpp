// The traceparent reader: only a well-formed version-00 value yields a trace id.
#include "observe/trace_context.hpp"

#include <gtest/gtest.h>

#include <string>

namespace shimgate {
namespace {

constexpr std::string_view valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceContext, ValidValueGivesItsTraceId) {
    EXPECT_EQ(trace_id_of(valid), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(trace_id_of(" \t" + std::string(valid) + " "), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"),
              "4bf92f3577b34da6a3ce929d0e0e4736");
    // The view points into the value (no copy).
    const std::string_view id = trace_id_of(valid);
    EXPECT_EQ(id.data(), valid.data() + 3);
}

TEST(TraceContext, InvalidValuesGiveNothing) {
    for (std::string_view bad : {
             "",
             "00",
             "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version 01
             "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
             "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
             "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",     // trace id 31
             "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",   // trace id 33
             "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
             "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent id
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",     // parent id 15
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",     // flags 1 digit
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",    // flags not hex
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // more after v00
             "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // separator
             "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
             "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  // not hex
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902z7-01",
         }) {
        EXPECT_EQ(trace_id_of(bad), "") << bad;
    }
}

}  // namespace
}  // namespace shimgate
