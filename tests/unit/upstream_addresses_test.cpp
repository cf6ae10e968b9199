#include "net/upstream_addresses.hpp"

#include <gtest/gtest.h>

#include <map>

namespace shimgate {
namespace {

using namespace std::chrono_literals;
using tcp = boost::asio::ip::tcp;
using clock_type = upstream_addresses::clock;

tcp::endpoint ep(const char* ip) {
    return {boost::asio::ip::make_address(ip), 80};
}
const tcp::endpoint a = ep("10.0.0.1"), b = ep("10.0.0.2"), c = ep("::1");
const clock_type::time_point t0{};

TEST(UpstreamAddresses, RoundRobin) {
    upstream_addresses r({a, b, c}, 10s);
    std::vector<tcp::endpoint> got;
    for (int i = 0; i < 6; ++i) got.push_back(*r.next(t0));
    EXPECT_EQ(got, (std::vector<tcp::endpoint>{a, b, c, a, b, c}));
}

TEST(UpstreamAddresses, OneAddressAlways) {
    upstream_addresses r({a}, 10s);
    EXPECT_EQ(*r.next(t0), a);
    EXPECT_EQ(*r.next(t0), a);
}

TEST(UpstreamAddresses, EjectedAddressIsSkippedForTheEjectTime) {
    upstream_addresses r({a, b, c}, 10s);
    r.eject(b, t0);
    EXPECT_TRUE(r.ejected(b, t0 + 9s));
    for (int i = 0; i < 4; ++i) EXPECT_NE(*r.next(t0 + 5s), b);
    EXPECT_FALSE(r.ejected(b, t0 + 10s));
    std::map<std::string, int> seen;
    for (int i = 0; i < 3; ++i) ++seen[r.next(t0 + 10s)->address().to_string()];
    EXPECT_EQ(seen["10.0.0.2"], 1) << "back in the rotation after --eject-time";
}

TEST(UpstreamAddresses, AllEjectedAreTriedAnyway) {
    upstream_addresses r({a, b}, 10s);
    r.eject(a, t0);
    r.eject(b, t0);
    const tcp::endpoint first = *r.next(t0 + 1s);
    const tcp::endpoint second = *r.next(t0 + 1s);
    EXPECT_NE(first, second) << "in turn, not one forever";
}

TEST(UpstreamAddresses, FailedLookupKeepsTheLastGoodAnswer) {
    upstream_addresses r({a, b}, 10s);
    EXPECT_FALSE(r.update({}));
    EXPECT_EQ(r.all(), (std::vector<tcp::endpoint>{a, b}));
}

TEST(UpstreamAddresses, NewAnswerKeepsEjectionsOfAddressesStillThere) {
    upstream_addresses r({a, b}, 10s);
    r.eject(a, t0);
    ASSERT_TRUE(r.update({b, a, c, c}));
    EXPECT_EQ(r.all(), (std::vector<tcp::endpoint>{b, a, c})) << "repeats once";
    EXPECT_TRUE(r.ejected(a, t0 + 1s));
    EXPECT_FALSE(r.ejected(c, t0 + 1s));
    for (int i = 0; i < 4; ++i) EXPECT_NE(*r.next(t0 + 1s), a);
    ASSERT_TRUE(r.update({c}));
    EXPECT_EQ(*r.next(t0 + 1s), c);
    EXPECT_FALSE(r.ejected(b, t0)) << "an address gone from the answer is forgotten";
}

TEST(UpstreamAddresses, EmptyHasNoNext) {
    upstream_addresses r({}, 10s);
    EXPECT_EQ(r.next(t0), nullptr);
}

}  // namespace
}  // namespace shimgate
