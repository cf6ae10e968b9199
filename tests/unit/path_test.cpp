#include "proxy/path.hpp"

#include <gtest/gtest.h>

namespace shimgate {
namespace {

// Both forms: the one into a reused buffer (with its copy-only path for normal paths) must agree
// with the full normalisation on every input.
std::string norm(std::string_view p) {
    std::string into = "stale";
    bool ok = normalize_path(p, into);
    auto full = normalize_path(p);
    EXPECT_EQ(ok, full.has_value()) << p;
    if (ok && full) {
        EXPECT_EQ(into, *full) << p;
    }
    return full.value_or("<invalid>");
}

TEST(PathNormalize, NormalPathsAndNearMisses) {
    EXPECT_EQ(norm("/api/update_user_group/"), "/api/update_user_group/");
    EXPECT_EQ(norm("/"), "/");
    EXPECT_EQ(norm("/.well-known/x"), "/.well-known/x");
    EXPECT_EQ(norm("/a/.b/b./..c/c../.../x"), "/a/.b/b./..c/c../.../x");
    EXPECT_EQ(norm("/a/./b"), "/a/b");
    EXPECT_EQ(norm("/a/../b"), "/b");
    EXPECT_EQ(norm("/a/."), "/a/");
    EXPECT_EQ(norm("/a/.."), "/");
    EXPECT_EQ(norm("/a//b"), "/a/b");
    EXPECT_EQ(norm("/a%41"), "/aA");
    EXPECT_EQ(norm("/a b"), "<invalid>");
    EXPECT_EQ(norm("/a\x7f"), "<invalid>");
    EXPECT_EQ(norm("a/b"), "<invalid>");
    EXPECT_EQ(norm(""), "<invalid>");
}

TEST(PathSplit, OriginForm) {
    auto t = split_request_target("/api/user?x=1&y=2");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/api/user");
    EXPECT_EQ(t->query, "x=1&y=2");
    EXPECT_TRUE(t->has_query);

    t = split_request_target("/api/user");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/api/user");
    EXPECT_FALSE(t->has_query);

    t = split_request_target("/p?");  // an empty query is still a query
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/p");
    EXPECT_TRUE(t->has_query);
    EXPECT_EQ(t->query, "");
}

TEST(PathSplit, AbsoluteForm) {
    auto t = split_request_target("http://example.com:8080/api/user?q=1");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/api/user");
    EXPECT_EQ(t->query, "q=1");

    t = split_request_target("https://example.com");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/");
    EXPECT_FALSE(t->has_query);

    t = split_request_target("HTTP://example.com?q");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/");
    EXPECT_EQ(t->query, "q");
}

TEST(PathSplit, RefusesOtherForms) {
    EXPECT_FALSE(split_request_target("*"));
    EXPECT_FALSE(split_request_target("example.com:443"));  // authority-form (CONNECT)
    EXPECT_FALSE(split_request_target(""));
    EXPECT_FALSE(split_request_target("http:///p"));  // no authority
    EXPECT_FALSE(split_request_target("1http://h/p"));
    EXPECT_FALSE(split_request_target("api/user"));
}

TEST(PathNormalize, DecodesOnlyUnreserved) {
    EXPECT_EQ(norm("/%7E"), "/~");
    EXPECT_EQ(norm("/%7e"), "/~");
    EXPECT_EQ(norm("/api/us%65r"), "/api/user");
    EXPECT_EQ(norm("/%41%2d%5F"), "/A-_");
    EXPECT_EQ(norm("/a%20b"), "/a%20b");  // reserved or other: kept encoded
    EXPECT_EQ(norm("/a%3fb"), "/a%3Fb");  // ... with upper-case hex
}

TEST(PathNormalize, EncodedSlashStaysEncoded) {
    EXPECT_EQ(norm("/v1/users/a%2Fb"), "/v1/users/a%2Fb");
    EXPECT_EQ(norm("/v1/users/a%2fb"), "/v1/users/a%2Fb");
    EXPECT_EQ(norm("/a/%2e%2e%2fb"), "/a/..%2Fb");  // not a dot segment: one segment "..%2Fb"
}

TEST(PathNormalize, DotSegments) {
    EXPECT_EQ(norm("/a/./b"), "/a/b");
    EXPECT_EQ(norm("/a/../b"), "/b");
    EXPECT_EQ(norm("/a/%2e%2e/b"), "/b");
    EXPECT_EQ(norm("/a/%2E/b"), "/a/b");
    EXPECT_EQ(norm("/../a"), "/a");  // clamps at the root
    EXPECT_EQ(norm("/../../.."), "/");
    EXPECT_EQ(norm("/a/b/.."), "/a/");
    EXPECT_EQ(norm("/a/."), "/a/");
    EXPECT_EQ(norm("/."), "/");
    EXPECT_EQ(norm("/.../a"), "/.../a");  // three dots are an ordinary segment
    EXPECT_EQ(norm("/a/..b"), "/a/..b");
    EXPECT_EQ(norm("/api/x/../user"), "/api/user");
}

TEST(PathNormalize, MergesSlashesKeepsTrailing) {
    EXPECT_EQ(norm("/a//b"), "/a/b");
    EXPECT_EQ(norm("//api///user"), "/api/user");
    EXPECT_EQ(norm("//"), "/");
    EXPECT_EQ(norm("/"), "/");
    EXPECT_EQ(norm("/api/update_user_group/"), "/api/update_user_group/");
    EXPECT_EQ(norm("/api/update_user_group//"), "/api/update_user_group/");
    EXPECT_EQ(norm("/a//../b"), "/b");  // slashes merged before dot segments are removed
}

TEST(PathNormalize, RefusesInvalid) {
    EXPECT_FALSE(normalize_path("/%"));
    EXPECT_FALSE(normalize_path("/a%4"));
    EXPECT_FALSE(normalize_path("/a%zz"));
    EXPECT_FALSE(normalize_path("/a%g0"));
    EXPECT_FALSE(normalize_path("/a%00b"));
    EXPECT_FALSE(normalize_path(std::string_view("/a\0b", 4)));
    EXPECT_FALSE(normalize_path("/a b"));
    EXPECT_FALSE(normalize_path("/a\tb"));
    EXPECT_FALSE(normalize_path("/a\x7f"));
    EXPECT_FALSE(normalize_path("a/b"));
    EXPECT_FALSE(normalize_path(""));
}

}  // namespace
}  // namespace shimgate
