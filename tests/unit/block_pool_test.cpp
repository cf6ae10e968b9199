#include "net/block_pool.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace shimgate {
namespace {

TEST(BlockPool, LendsWritableBlocksAndKeepsAtMostItsLimit) {
    block_pool pool(64 * 1024, 2);
    std::vector<char*> taken;
    for (int i = 0; i < 4; ++i) {
        char* b = pool.take();
        ASSERT_NE(b, nullptr);
        std::memset(b, i, pool.block_size());  // the whole block is usable
        taken.push_back(b);
    }
    EXPECT_EQ(pool.kept(), 0u);
    for (char* b : taken) pool.give(b);
    EXPECT_EQ(pool.kept(), 2u) << "blocks beyond the limit go back to the system";
    char* again = pool.take();
    EXPECT_EQ(again, taken[1]) << "the most recently given block is lent first";
    EXPECT_EQ(pool.kept(), 1u);
    pool.give(again);
    pool.give(nullptr);  // giving nothing is allowed
    EXPECT_EQ(pool.kept(), 2u);
}

}  // namespace
}  // namespace shimgate
