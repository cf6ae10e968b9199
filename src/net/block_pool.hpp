#pragma once
// Fixed-size buffers lent to the request in flight and kept for the next one, so that an idle
// connection holds none and a busy worker allocates none. One per worker thread (no lock). Blocks
// come straight from mmap, so those given back beyond what the pool keeps leave the process's RSS
// at once (a heap free would keep them resident).
#include <cstddef>
#include <new>
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

// An allocator over a block_pool, for a flat_buffer that is emptied and filled again for every
// request: what fits in a block is a block of the pool (no malloc, and a LIFO reuse of warm
// memory), anything larger comes from the heap. Used only on the pool's thread.
template <class T>
class pooled_allocator {
  public:
    using value_type = T;
    explicit pooled_allocator(block_pool& pool) noexcept : pool_(&pool) {}
    template <class U>
    pooled_allocator(const pooled_allocator<U>& other) noexcept : pool_(other.pool()) {}

    T* allocate(std::size_t n) {
        if (n * sizeof(T) <= pool_->block_size()) return reinterpret_cast<T*>(pool_->take());
        return static_cast<T*>(::operator new(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n * sizeof(T) <= pool_->block_size()) {
            pool_->give(reinterpret_cast<char*>(p));
        } else {
            ::operator delete(p);
        }
    }
    block_pool* pool() const noexcept { return pool_; }
    template <class U>
    bool operator==(const pooled_allocator<U>& other) const noexcept {
        return pool_ == other.pool();
    }

  private:
    block_pool* pool_;
};

}  // namespace shimgate
