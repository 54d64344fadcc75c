// The bookkeeping of the caching allocators, on any device: the CPU's (tensor/cpu/cpu_allocator.cpp,
// over aligned_alloc) and CUDA's (tensor/cuda/caching_allocator.cpp, over cudaMalloc).
//
// Memory comes from the system in segments that are kept. A request takes the smallest free block
// that fits, split in two when the rest is worth keeping; a freed block goes back to the free set,
// merged with the free neighbours of its segment. Small requests (up to 1 MiB) and large ones
// live in separate segments, as in PyTorch's allocator: a small block carved out of a large
// segment would keep that segment from serving the next large tensor whole, or from going back.
// release_free_segments() gives whole free segments back. Without caching (memory checkers:
// ROENTGEN_CUDA_NO_CACHE=1), every request is a segment of its own exact size, given back when
// freed. PoolAllocator (below) is the Allocator both devices build on it.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "tensor/allocator.h"

namespace rg {

class BlockPool {
 public:
  static constexpr size_t kRound = 512;              // every block is a multiple of this (and so aligned)
  static constexpr size_t kSmallSegment = 2u << 20;  // requests up to 1 MiB share 2 MiB segments
  static constexpr size_t kLargeRound = 2u << 20;    // larger requests get segments rounded up to 2 MiB
  static constexpr size_t kMinSplit = 1u << 20;      // a large block is split only if 1 MiB is left over

  // grow(bytes) returns a new segment (it may call release_free_segments() and retry, or throw);
  // release(ptr) returns one.
  BlockPool(std::function<void*(size_t)> grow, std::function<void(void*)> release, bool caching = true)
      : grow_(std::move(grow)), release_(std::move(release)), caching_(caching) {}
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  void* allocate(size_t bytes);
  void deallocate(void* ptr);  // an unknown pointer or a second free is an rg::Error
  void release_free_segments();
  const MemoryStats& stats() const { return stats_; }
  void reset_peak() { stats_.peak_bytes = stats_.current_bytes; }
  size_t free_blocks() const { return free_[0].size() + free_[1].size(); }

 private:
  struct Block {
    char* ptr;
    size_t size;
    bool free;
    Block* prev = nullptr;  // neighbours in the same segment, in address order
    Block* next = nullptr;
    size_t requested = 0;  // while in use: the caller's size
    bool small = false;    // of a small segment (all blocks of a segment share it)
  };
  static bool is_small(size_t size) { return size <= kSmallSegment / 2; }
  std::set<std::pair<size_t, Block*>>& free_set(const Block* b) { return free_[b->small ? 1 : 0]; }

  void* allocate_uncached(size_t bytes);
  Block* take_free(size_t size);
  void split(Block* block, size_t size);
  Block* merge(Block* block, Block* neighbour);

  std::function<void*(size_t)> grow_;
  std::function<void(void*)> release_;
  bool caching_;
  std::set<std::pair<size_t, Block*>>
      free_[2];  // free blocks of large [0] and small [1] segments, by size, then address
  std::unordered_map<void*, Block*> in_use_;
  MemoryStats stats_;
};

// An Allocator over a BlockPool, each call under one mutex (tensors are freed on any thread). A
// device's allocator derives from it and supplies the segments: grow(bytes) is called with the
// mutex held and may use pool() (to give back cached segments before retrying, say).
class PoolAllocator : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return pool_.allocate(bytes);
  }
  void deallocate(void* ptr, size_t) override {
    std::lock_guard<std::mutex> lock(mutex_);
    pool_.deallocate(ptr);
  }
  MemoryStats stats() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return pool_.stats();
  }
  void reset_peak() override {
    std::lock_guard<std::mutex> lock(mutex_);
    pool_.reset_peak();
  }
  void empty_cache() override {
    std::lock_guard<std::mutex> lock(mutex_);
    pool_.release_free_segments();
  }

 protected:
  PoolAllocator(std::function<void*(size_t)> grow, std::function<void(void*)> release, bool caching = true)
      : pool_(std::move(grow), std::move(release), caching) {}
  BlockPool& pool() { return pool_; }

 private:
  mutable std::mutex mutex_;
  BlockPool pool_;
};

}  // namespace rg
