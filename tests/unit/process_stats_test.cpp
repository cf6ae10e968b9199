// The process_* figures: /proc lines parsed exactly, and this process's own figures plausible.
#include "observe/process_stats.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>

namespace shimgate {
namespace {

TEST(ProcessStats, ParsesAProcStatLine) {
    // A command name with spaces and a parenthesis; fields 14, 15, 22 and 24 are what is read.
    const std::string line =
        "4242 (shim gate) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 "
        "250 130 0 0 20 0 5 0 987654 123456789 3210 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 "
        "0 17 1 0 0 0 0 0\n";
    const auto f = parse_proc_stat(line);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->utime_ticks, 250u);
    EXPECT_EQ(f->stime_ticks, 130u);
    EXPECT_EQ(f->start_ticks, 987654u);
    EXPECT_EQ(f->rss_pages, 3210u);

    EXPECT_FALSE(parse_proc_stat(""));
    EXPECT_FALSE(parse_proc_stat("4242 (short) S 1 2 3"));
    EXPECT_FALSE(parse_proc_stat("no parenthesis at all 1 2 3 4 5 6 7 8 9 10 11 12 13 14"));
}

TEST(ProcessStats, ParsesBootTime) {
    EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1764970000\nprocesses 9\n"), 1764970000u);
    EXPECT_FALSE(parse_boot_time("cpu 1 2 3\n"));
    EXPECT_FALSE(parse_boot_time("btime x\n"));
}

TEST(ProcessStats, OwnFiguresArePlausible) {
    const process_stats before = read_process_stats();
    ASSERT_TRUE(before.valid);
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_LE(before.start_time_seconds, now + 1);
    EXPECT_GT(before.start_time_seconds, now - 24 * 3600);  // a test process started today
    EXPECT_GT(before.resident_memory_bytes, 1u << 20);
    EXPECT_GE(before.cpu_seconds, 0.0);
    EXPECT_GE(before.max_fds, before.open_fds);
    // One more open descriptor is seen as one more.
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    const process_stats after = read_process_stats();
    ::close(fd);
    EXPECT_EQ(after.open_fds, before.open_fds + 1);
}

}  // namespace
}  // namespace shimgate
