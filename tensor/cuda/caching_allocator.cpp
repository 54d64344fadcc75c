// The CUDA caching allocator: a PoolAllocator (tensor/block_pool.h) over segments from cudaMalloc.
//
// cudaMalloc and cudaFree synchronize the device and take tens of microseconds, so calling them
// once per op would dominate training; the pool keeps freed blocks and hands them out again.
//
// ROENTGEN_CUDA_NO_CACHE=1 turns the cache off: one cudaMalloc and cudaFree per tensor, slow, but
// compute-sanitizer's memcheck checks bounds per cudaMalloc, so only then does it see a kernel
// overrunning its tensor into a neighbour (PyTorch's PYTORCH_NO_CUDA_MEMORY_CACHING).
//
// Streams: all kernels run in order on the default stream, so a block freed by the host may be
// handed out again at once — any kernel still reading it runs before any kernel that writes its new
// contents. The one other stream, the uploader's (tensor/cuda/upload.cpp), keeps to this rule with
// events: its copy into a fresh block waits for the default stream's work queued so far, and the
// default stream waits for the copy before reading the block. Whoever adds another stream must do
// the same (or record an event per block and wait for it before reuse).
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "tensor/block_pool.h"
#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/cuda_check.h"

namespace rg::cuda {
namespace {

bool caching() {
  const char* v = std::getenv("ROENTGEN_CUDA_NO_CACHE");
  return !(v && *v && std::strcmp(v, "0") != 0);
}

class CachingAllocator final : public PoolAllocator {
 public:
  explicit CachingAllocator(int device)
      : PoolAllocator([this](size_t bytes) { return malloc_segment(bytes); },
                      [this](void* ptr) {
                        DeviceGuard guard(device_);
                        RG_CUDA_CHECK(cudaFree(ptr));
                      },
                      caching()),
        device_(device) {}

 private:
  // Called by the pool with the mutex held.
  void* malloc_segment(size_t bytes) {
    DeviceGuard guard(device_);
    void* ptr = nullptr;
    if (cudaMalloc(&ptr, bytes) == cudaSuccess) return ptr;
    cudaGetLastError();  // clear the error, give back the cached segments, and try once more
    pool().release_free_segments();
    const cudaError_t status = cudaMalloc(&ptr, bytes);
    RG_CHECK(status == cudaSuccess, "CUDA caching allocator: cudaMalloc of ", bytes, " bytes on cuda:", device_,
             " failed: ", cudaGetErrorString(status), " (", pool().stats().current_bytes, " bytes in use by tensors, ",
             pool().stats().reserved_bytes, " reserved)");
    return ptr;
  }

  int device_;
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
