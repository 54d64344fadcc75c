// The bookkeeping of the caching allocators, on any device: the CPU's (tensor/cpu/cpu_allocator.cpp,
// over aligned_alloc) and CUDA's (tensor/cuda/caching_allocator.cpp, over cudaMalloc).
//
// Memory comes from the system in segments that are kept. A request takes the smallest free block
// that fits, split in two when the rest is worth keeping; a freed block goes back to the free set,
// merged with the free neighbours of its segment. release_free_segments() gives whole free
// segments back. PoolAllocator (below) is the Allocator both devices build on it.
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
  static constexpr size_t kRound = 512;             // every block is a multiple of this (and so aligned)
  static constexpr size_t kSmallSegment = 2u << 20; // requests up to 1 MiB share 2 MiB segments
  static constexpr size_t kLargeRound = 2u << 20;   // larger requests get segments rounded up to 2 MiB
  static constexpr size_t kMinSplit = 1u << 20;     // a large block is split only if 1 MiB is left over

  // grow(bytes) returns a new segment (it may call release_free_segments() and retry, or throw);
  // release(ptr) returns one.
  BlockPool(std::function<void*(size_t)> grow, std::function<void(void*)> release)
      : grow_(std::move(grow)), release_(std::move(release)) {}
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  void* allocate(size_t bytes);
  void deallocate(void* ptr);  // an unknown pointer or a second free is an rg::Error
  void release_free_segments();
  const MemoryStats& stats() const { return stats_; }
  void reset_peak() { stats_.peak_bytes = stats_.current_bytes; }
  size_t free_blocks() const { return free_.size(); }

 private:
  struct Block {
    char* ptr;
    size_t size;
    bool free;
    Block* prev = nullptr;  // neighbours in the same segment, in address order
    Block* next = nullptr;
    size_t requested = 0;   // while in use: the caller's size
  };

  Block* take_free(size_t size);
  void split(Block* block, size_t size);
  Block* merge(Block* block, Block* neighbour);

  std::function<void*(size_t)> grow_;
  std::function<void(void*)> release_;
  std::set<std::pair<size_t, Block*>> free_;  // free blocks by size, then address
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
  PoolAllocator(std::function<void*(size_t)> grow, std::function<void(void*)> release)
      : pool_(std::move(grow), std::move(release)) {}
  BlockPool& pool() { return pool_; }

 private:
  mutable std::mutex mutex_;
  BlockPool pool_;
};

}  // namespace rg
