#pragma once
// Fixed-size buffers lent to the request in flight and kept for the next one, so that an idle
// connection holds none and a busy worker allocates none. One per worker thread (no lock). Blocks
// come straight from mmap, so those given back beyond what the pool keeps leave the process's RSS
// at once (a heap free would keep them resident).
#include <cstddef>
#include <vector>

namespace shimgate {

class block_pool {
  public:
    // Blocks of `block_size` bytes (a multiple of the page size); at most `keep` are kept free.
    block_pool(std::size_t block_size, std::size_t keep);
    ~block_pool();
    block_pool(const block_pool&) = delete;
    block_pool& operator=(const block_pool&) = delete;

    std::size_t block_size() const noexcept { return block_size_; }
    char* take();  // throws std::bad_alloc when the system has no memory
    void give(char* block) noexcept;
    std::size_t kept() const noexcept { return free_.size(); }

  private:
    std::size_t block_size_;
    std::size_t keep_;
    std::vector<char*> free_;
};

}  // namespace shimgate
