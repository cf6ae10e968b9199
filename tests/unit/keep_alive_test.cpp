#include "proxy/keep_alive.hpp"

#include <gtest/gtest.h>

namespace shimgate {
namespace {

TEST(KeepAlive, TimeoutAndMax) {
    auto p = parse_keep_alive("timeout=5, max=100");
    EXPECT_EQ(p.timeout, 5u);
    EXPECT_EQ(p.max, 100u);
}

TEST(KeepAlive, CaseAndSpaces) {
    auto p = parse_keep_alive("  Timeout = 7 ,\tMAX=3  ");
    EXPECT_EQ(p.timeout, 7u);
    EXPECT_EQ(p.max, 3u);
    EXPECT_EQ(parse_keep_alive("TIMEOUT=\"2\"").timeout, 2u);
}

TEST(KeepAlive, EmptyOrAbsent) {
    EXPECT_FALSE(parse_keep_alive("").timeout);
    EXPECT_FALSE(parse_keep_alive("max=5").timeout);
    EXPECT_FALSE(parse_keep_alive(",,, ,").timeout);
    EXPECT_FALSE(parse_keep_alive("timeout").timeout);
}

TEST(KeepAlive, JunkIsIgnored) {
    EXPECT_FALSE(parse_keep_alive("timeout=").timeout);
    EXPECT_FALSE(parse_keep_alive("timeout=abc").timeout);
    EXPECT_FALSE(parse_keep_alive("timeout=-1").timeout);
    EXPECT_FALSE(parse_keep_alive("timeout=1.5").timeout);
    EXPECT_FALSE(parse_keep_alive("timeout=5s").timeout);
    EXPECT_FALSE(parse_keep_alive("timeout=\"5").timeout);
    EXPECT_FALSE(parse_keep_alive("timeout=99999999999999999999").timeout);
    EXPECT_FALSE(parse_keep_alive("timeouts=5").timeout);
    // Junk beside a good parameter does not hide it.
    EXPECT_EQ(parse_keep_alive("foo, bar=baz, timeout=4, =, x=").timeout, 4u);
    EXPECT_EQ(parse_keep_alive("timeout=abc, timeout=3").timeout, 3u);
}

TEST(KeepAlive, RepeatedTakesTheSmallest) {
    EXPECT_EQ(parse_keep_alive("timeout=9, timeout=2, timeout=5").timeout, 2u);
    EXPECT_EQ(parse_keep_alive("timeout=0").timeout, 0u);
}

}  // namespace
}  // namespace shimgate
