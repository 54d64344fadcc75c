// The CUDA caching allocator.
//
// cudaMalloc and cudaFree synchronize the device and take tens of microseconds, so calling them
// once per op would dominate training. Instead, a freed block goes to a free list and the next
// request of a similar size takes it back. All kernels run in order on the default stream, so a
// block freed by the host may be reused at once: any kernel still reading it runs before any
// kernel that writes the block's new contents.
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/cuda_check.h"

namespace rg::cuda {
namespace {

constexpr size_t kRound = 512;  // every block is a multiple of this (and 512-byte aligned)

class CachingAllocator final : public Allocator {
 public:
  explicit CachingAllocator(int device) : device_(device) {}

  void* allocate(size_t bytes) override {
    size_t size = std::max(kRound, (bytes + kRound - 1) / kRound * kRound);
    std::lock_guard<std::mutex> lock(mutex_);
    void* ptr = take_cached(size);  // may raise `size` to the cached block's size
    if (!ptr) ptr = malloc_device(size);
    in_use_[ptr] = size;
    stats_.current_bytes += size;
    stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.current_bytes);
    return ptr;
  }

  void deallocate(void* ptr, size_t) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = in_use_.find(ptr);
    if (it == in_use_.end()) return;
    stats_.current_bytes -= it->second;
    free_.emplace(it->second, ptr);
    in_use_.erase(it);
  }

  MemoryStats stats() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void reset_peak() override {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_bytes = stats_.current_bytes;
  }

  void empty_cache() override {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached();
  }

 private:
  // The smallest cached block that fits, unless it would waste more than half of itself.
  // On success `size` becomes the block's real size (the slack is counted as in use).
  void* take_cached(size_t& size) {
    auto it = free_.lower_bound(size);
    if (it == free_.end() || it->first > 2 * size) return nullptr;
    void* ptr = it->second;
    size = it->first;
    free_.erase(it);
    return ptr;
  }

  void* malloc_device(size_t size) {
    RG_CUDA_CHECK(cudaSetDevice(device_));
    void* ptr = nullptr;
    if (cudaMalloc(&ptr, size) != cudaSuccess) {
      cudaGetLastError();  // clear the error, give back what we cache, and try once more
      release_cached();
      const cudaError_t status = cudaMalloc(&ptr, size);
      RG_CHECK(status == cudaSuccess, "CUDA caching allocator: cudaMalloc of ", size,
               " bytes on cuda:", device_, " failed: ", cudaGetErrorString(status), " (",
               stats_.current_bytes, " bytes in use by tensors)");
    }
    stats_.reserved_bytes += size;
    return ptr;
  }

  void release_cached() {
    for (auto& [size, ptr] : free_) {
      cudaFree(ptr);
      stats_.reserved_bytes -= size;
    }
    free_.clear();
  }

  int device_;
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> free_;          // cached blocks by size
  std::unordered_map<void*, size_t> in_use_;  // handed-out blocks and their sizes
  MemoryStats stats_;
};

}  // namespace

Allocator& allocator(int device) {
  // One allocator per device, never destroyed (tensors may be freed during static destruction).
  static std::mutex mutex;
  static auto* allocators = new std::vector<std::unique_ptr<CachingAllocator>>();
  std::lock_guard<std::mutex> lock(mutex);
  if (int(allocators->size()) <= device) allocators->resize(device + 1);
  auto& slot = (*allocators)[device];
  if (!slot) slot = std::make_unique<CachingAllocator>(device);
  return *slot;
}

}  // namespace rg::cuda
