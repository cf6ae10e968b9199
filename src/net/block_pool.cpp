#include "net/block_pool.hpp"

#include <sys/mman.h>

#include <new>

namespace shimgate {

block_pool::block_pool(std::size_t block_size, std::size_t keep)
    : block_size_(block_size), keep_(keep) {
    free_.reserve(keep);
}

block_pool::~block_pool() {
    for (char* b : free_) ::munmap(b, block_size_);
}

char* block_pool::take() {
    if (!free_.empty()) {
        char* b = free_.back();
        free_.pop_back();
        return b;
    }
    void* p =
        ::mmap(nullptr, block_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return static_cast<char*>(p);
}

void block_pool::give(char* block) noexcept {
    if (block == nullptr) return;
    if (free_.size() < keep_) {
        free_.push_back(block);
    } else {
        ::munmap(block, block_size_);
    }
}

}  // namespace shimgate
