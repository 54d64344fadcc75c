// The CPU allocator: 64-byte aligned blocks with byte counters.
#include <atomic>
#include <cstdlib>
#include <new>

#include "tensor/allocator.h"
#include "tensor/error.h"

namespace rg {

class CpuAllocator final : public Allocator {
 public:
  static constexpr size_t kAlignment = 64;

  void* allocate(size_t bytes) override {
    // aligned_alloc wants a size that is a multiple of the alignment.
    const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* ptr = std::aligned_alloc(kAlignment, rounded);
    RG_CHECK(ptr != nullptr, "CPU allocator: out of memory allocating ", bytes, " bytes (",
             current_.load(), " bytes in use)");
    const size_t now = current_ += bytes;
    size_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    return ptr;
  }

  void deallocate(void* ptr, size_t bytes) override {
    std::free(ptr);
    current_ -= bytes;
  }

  MemoryStats stats() const override {
    return {current_.load(), peak_.load(), current_.load(), current_.load()};
  }

  void reset_peak() override { peak_ = current_.load(); }

 private:
  std::atomic<size_t> current_{0};
  std::atomic<size_t> peak_{0};
};

Allocator& cpu_allocator() {
  static CpuAllocator* allocator = new CpuAllocator();  // never destroyed: tensors may outlive main
  return *allocator;
}

}  // namespace rg
