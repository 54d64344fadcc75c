// Allocators: every tensor's bytes come from the allocator of its device.
//
// Both keep freed blocks and hand them out again (the bookkeeping: tensor/block_pool.h).
// CPU (tensor/cpu/cpu_allocator.cpp): 64-byte aligned blocks (one cache line, and what AVX-512
// loads like); cached because fresh large blocks cost a page fault and a zero-fill per page.
// CUDA (tensor/cuda/caching_allocator.cpp): cudaMalloc is far too slow to call once per op.
// Both count the bytes currently handed out and the peak since the last reset.
#pragma once

#include <cstddef>

#include "tensor/device.h"

namespace rg {

struct MemoryStats {
  size_t current_bytes = 0;    // handed out to tensors right now (blocks, with their rounding)
  size_t peak_bytes = 0;       // the most ever handed out at once (since reset_peak)
  size_t reserved_bytes = 0;   // held from the system, including cached free blocks
  size_t requested_bytes = 0;  // what the tensors asked for, right now (current_bytes less rounding)
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  // Gives back a block from allocate() (both allocators report an unknown pointer or a second free
  // as an rg::Error).
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual MemoryStats stats() const = 0;
  virtual void reset_peak() = 0;
  // Returns cached free blocks to the system (a no-op where nothing is cached).
  virtual void empty_cache() {}
};

// The allocator of `device`; throws rg::Error for CUDA when CUDA is unavailable.
Allocator& allocator_for(Device device);

inline MemoryStats memory_stats(Device device) { return allocator_for(device).stats(); }

}  // namespace rg
