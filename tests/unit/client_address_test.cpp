// --trusted-proxies: CIDR parsing and matching, and the client address from the forwarding chain.
#include "proxy/client_address.hpp"

#include <gtest/gtest.h>

#include "proxy/head.hpp"

namespace shimgate {
namespace {

trusted_proxies set(std::string_view text) {
    trusted_proxies t;
    EXPECT_EQ(t.parse(text), "") << text;
    return t;
}

head_fields xff(std::initializer_list<const char*> values) {
    head_fields f;
    f.add("Host", "h");
    for (const char* v : values) f.add("X-Forwarded-For", v);
    f.add("Accept", "*/*");
    return f;
}

TEST(ClientAddress, ParsesAddresses) {
    EXPECT_TRUE(parse_ip("192.0.2.1"));
    EXPECT_TRUE(parse_ip("2001:db8::1"));
    EXPECT_TRUE(parse_ip("::1"));
    EXPECT_FALSE(parse_ip(""));
    EXPECT_FALSE(parse_ip("unknown"));
    EXPECT_FALSE(parse_ip("192.0.2.256"));
    EXPECT_FALSE(parse_ip("192.0.2.1:80"));
    EXPECT_FALSE(parse_ip("[::1]"));
    EXPECT_FALSE(parse_ip(std::string(60, '1')));
    EXPECT_TRUE(parse_ip("192.0.2.1")->v4);
    EXPECT_TRUE(parse_ip("::ffff:192.0.2.1")->v4);  // mapped: the same address
    EXPECT_EQ(parse_ip("::ffff:192.0.2.1")->bytes, parse_ip("192.0.2.1")->bytes);
}

TEST(ClientAddress, CidrMatching) {
    auto t = set("10.0.0.0/8,192.168.1.7, 172.16.0.0/12 ,2001:db8::/32,::1");
    EXPECT_TRUE(t.contains("10.0.0.0"));
    EXPECT_TRUE(t.contains("10.255.255.255"));
    EXPECT_FALSE(t.contains("11.0.0.0"));
    EXPECT_TRUE(t.contains("192.168.1.7"));  // bare address: /32
    EXPECT_FALSE(t.contains("192.168.1.8"));
    EXPECT_TRUE(t.contains("172.31.255.1"));
    EXPECT_FALSE(t.contains("172.32.0.1"));
    EXPECT_TRUE(t.contains("2001:db8:ffff::1"));
    EXPECT_FALSE(t.contains("2001:db9::1"));
    EXPECT_TRUE(t.contains("::1"));  // bare IPv6: /128
    EXPECT_FALSE(t.contains("::2"));
    EXPECT_TRUE(t.contains("::ffff:10.1.2.3"));  // an IPv4 peer seen on a dual-stack socket
    EXPECT_FALSE(t.contains("junk"));

    // Host bits in the base are ignored; odd prefixes cut inside a byte.
    auto odd = set("10.1.2.3/23,2001:db8:8000::/33");
    EXPECT_TRUE(odd.contains("10.1.3.255"));
    EXPECT_FALSE(odd.contains("10.1.4.0"));
    EXPECT_TRUE(odd.contains("10.1.2.0"));
    EXPECT_TRUE(odd.contains("2001:db8:ffff::"));
    EXPECT_FALSE(odd.contains("2001:db8:7fff::"));

    // /0 trusts every address of its family, and only of its family.
    auto all4 = set("0.0.0.0/0");
    EXPECT_TRUE(all4.contains("203.0.113.9"));
    EXPECT_FALSE(all4.contains("2001:db8::1"));
    EXPECT_TRUE(set("::/0").contains("2001:db8::1"));

    trusted_proxies none;
    EXPECT_TRUE(none.empty());
    EXPECT_FALSE(none.contains("127.0.0.1"));
}

TEST(ClientAddress, CidrErrors) {
    trusted_proxies t;
    EXPECT_NE(t.parse("10.0.0.0/8,bad"), "");
    EXPECT_TRUE(t.empty());  // unchanged on error
    EXPECT_EQ(t.parse("10.0.0.0/33"), "\"10.0.0.0/33\": prefix length must be 0 to 32");
    EXPECT_EQ(t.parse("::/129"), "\"::/129\": prefix length must be 0 to 128");
    EXPECT_NE(t.parse("10.0.0.0/"), "");
    EXPECT_NE(t.parse("10.0.0.0/8x"), "");
    EXPECT_NE(t.parse("10.0.0.0/-1"), "");
    EXPECT_NE(t.parse("10.0.0.0/8,,10.0.0.1"), "");
    EXPECT_NE(t.parse(","), "");
    EXPECT_NE(t.parse("[::1]"), "");
    EXPECT_NE(t.parse("example.com"), "");
    EXPECT_TRUE(t.empty());
}

TEST(ClientAddress, UntrustedPeerIsTheClient) {
    auto t = set("10.0.0.0/8");
    EXPECT_EQ(client_address(xff({"203.0.113.7"}), "198.51.100.1", t), "198.51.100.1");
    EXPECT_EQ(client_address(xff({"203.0.113.7"}), "198.51.100.1", trusted_proxies{}),
              "198.51.100.1");
    EXPECT_EQ(client_address(xff({}), "10.0.0.1", t), "10.0.0.1");  // trusted, no chain
}

TEST(ClientAddress, RightMostUntrustedOfTheChain) {
    auto t = set("10.0.0.0/8,2001:db8::/32");
    // client spoofs 1.1.1.1; its real address 203.0.113.7 was appended by the trusted balancer.
    EXPECT_EQ(client_address(xff({"1.1.1.1, 203.0.113.7"}), "10.0.0.1", t), "203.0.113.7");
    // Two trusted hops.
    EXPECT_EQ(client_address(xff({"1.1.1.1,203.0.113.7, 10.2.2.2"}), "10.0.0.1", t), "203.0.113.7");
    // Several fields: one list, in field order; spaces and tabs around entries.
    EXPECT_EQ(client_address(xff({"1.1.1.1", " 203.0.113.7 ,\t10.3.3.3 "}), "10.0.0.1", t),
              "203.0.113.7");
    EXPECT_EQ(client_address(xff({"203.0.113.7", "10.3.3.3"}), "10.0.0.1", t), "203.0.113.7");
    // Empty entries are skipped.
    EXPECT_EQ(client_address(xff({"203.0.113.7,, ,10.3.3.3,"}), "10.0.0.1", t), "203.0.113.7");
    // IPv6, with and without brackets and ports; IPv4 with a port.
    EXPECT_EQ(client_address(xff({"2001:db9::7"}), "2001:db8::1", t), "2001:db9::7");
    EXPECT_EQ(client_address(xff({"[2001:db9::7]:4711, 2001:db8::2"}), "10.0.0.1", t),
              "2001:db9::7");
    EXPECT_EQ(client_address(xff({"[2001:db9::8]"}), "10.0.0.1", t), "2001:db9::8");
    EXPECT_EQ(client_address(xff({"203.0.113.9:5000"}), "10.0.0.1", t), "203.0.113.9");
}

TEST(ClientAddress, AllTrustedIsTheLeftMost) {
    auto t = set("10.0.0.0/8");
    EXPECT_EQ(client_address(xff({"10.9.9.9, 10.8.8.8"}), "10.0.0.1", t), "10.9.9.9");
    EXPECT_EQ(client_address(xff({"10.9.9.9", "10.8.8.8"}), "10.0.0.1", t), "10.9.9.9");
}

TEST(ClientAddress, JunkEndsTheWalk) {
    auto t = set("10.0.0.0/8");
    // Junk left of an untrusted address is never reached.
    EXPECT_EQ(client_address(xff({"junk, 203.0.113.7"}), "10.0.0.1", t), "203.0.113.7");
    // Junk where the client should be: the trusted hop to its right is as far as we can vouch.
    EXPECT_EQ(client_address(xff({"203.0.113.7, unknown"}), "10.0.0.1", t), "10.0.0.1");
    EXPECT_EQ(client_address(xff({"203.0.113.7, <script>, 10.5.5.5"}), "10.0.0.1", t), "10.5.5.5");
    EXPECT_EQ(client_address(xff({"[2001:db8::1"}), "10.0.0.1", t), "10.0.0.1");
    EXPECT_EQ(client_address(xff({"[2001:db8::1]x"}), "10.0.0.1", t), "10.0.0.1");
    EXPECT_EQ(client_address(xff({"1.2.3.4:5:6"}), "10.0.0.1", t), "10.0.0.1");
}

TEST(ClientAddress, OtherFieldsAreIgnored) {
    auto t = set("10.0.0.0/8");
    head_fields f;
    f.add("X-Forwarded-Forward", "1.1.1.1");
    f.add("Forwarded", "for=2.2.2.2");
    f.add("X-Real-IP", "3.3.3.3");
    EXPECT_EQ(client_address(f, "10.0.0.1", t), "10.0.0.1");
}

}  // namespace
}  // namespace shimgate
