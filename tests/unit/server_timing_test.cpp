// The Server-Timing field: placed as the head's last field, the shim's own time and the
// upstream's, the upstream entry only when it was called.
#include "observe/server_timing.hpp"

#include <gtest/gtest.h>

namespace shimgate {
namespace {

using namespace std::chrono_literals;

TEST(ServerTiming, ShimAndUpstreamEntries) {
    std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    add_server_timing(head, 12345678ns, 10000000ns);
    EXPECT_EQ(head,
              "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
              "Server-Timing: shim;dur=2.345, upstream;dur=10.000\r\n\r\n");
}

TEST(ServerTiming, NoUpstreamEntryWhenItWasNotCalled) {
    std::string head = "HTTP/1.1 401 Unauthorized\r\n\r\n";
    add_server_timing(head, 1500us, std::nullopt);
    EXPECT_EQ(head, "HTTP/1.1 401 Unauthorized\r\nServer-Timing: shim;dur=1.500\r\n\r\n");
}

TEST(ServerTiming, EdgesAndAHeadThatIsNotWhole) {
    std::string head = "HTTP/1.1 200 OK\r\n\r\n";
    // A clock step: never a negative figure. Large ones stay exact.
    add_server_timing(head, 1ms, 3ms);
    EXPECT_EQ(head, "HTTP/1.1 200 OK\r\nServer-Timing: shim;dur=0.000, upstream;dur=3.000\r\n\r\n");
    std::string big = "HTTP/1.1 200 OK\r\n\r\n";
    add_server_timing(big, std::chrono::hours(24 * 365), std::nullopt);
    EXPECT_NE(big.find("shim;dur=31536000000.000\r\n"), std::string::npos) << big;
    std::string partial = "HTTP/1.1 200 OK\r\n";
    add_server_timing(partial, 1ms, std::nullopt);
    EXPECT_EQ(partial, "HTTP/1.1 200 OK\r\n");
}

}  // namespace
}  // namespace shimgate
