// The CPU allocator: a caching allocator, a PoolAllocator (tensor/block_pool.h) over 64-byte
// aligned segments from aligned_alloc.
//
// Why cache on the CPU: a training step frees and allocates the same large tensors again and
// again, and the C library hands blocks that large straight back to the system. Each new block
// then costs a page fault per 4 KiB and the kernel's zero-filling of every page: about 9% of a
// DenseNet121 training step on 2 cores, gone with the cache (bench/RESULTS.md). The price: memory
// freed by tensors stays with the process until empty_cache().
#include <cstdlib>

#include "tensor/block_pool.h"
#include "tensor/error.h"

namespace rg {

class CpuAllocator final : public PoolAllocator {
 public:
  static constexpr size_t kAlignment = 64;  // a cache line; BlockPool's blocks are multiples of 512 bytes

  CpuAllocator()
      : PoolAllocator([this](size_t bytes) { return new_segment(bytes); }, [](void* ptr) { std::free(ptr); }) {}

 private:
  // Called by the pool with the mutex held. Segment sizes are multiples of 512 bytes, as
  // aligned_alloc wants (a multiple of the alignment).
  void* new_segment(size_t bytes) {
    void* ptr = std::aligned_alloc(kAlignment, bytes);
    if (ptr) return ptr;
    pool().release_free_segments();  // give back the cache and try once more
    ptr = std::aligned_alloc(kAlignment, bytes);
    RG_CHECK(ptr != nullptr, "CPU allocator: out of memory allocating ", bytes, " bytes (",
             pool().stats().current_bytes, " bytes in use by tensors, ", pool().stats().reserved_bytes, " reserved)");
    return ptr;
  }
};

Allocator& cpu_allocator() {
  static CpuAllocator* allocator = new CpuAllocator();  // never destroyed: tensors may outlive main
  return *allocator;
}

}  // namespace rg
