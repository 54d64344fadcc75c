// The GPU's Uploader (tensor/upload.h): pinned staging buffers, a side stream and events.
//
// Ordering with the default stream, where every kernel runs (tensor/cuda/caching_allocator.cpp):
//   - the destination is a block from the caching allocator, which may hand out a block whose
//     last readers are still queued on the default stream: the copy first waits for everything
//     queued there so far (an event), so it never overwrites what a queued kernel still reads;
//   - the kernels that read the destination run after take(), which makes the default stream
//     wait for the copy (another event);
//   - a staging buffer is written again only after its previous copy has finished (the host
//     waits for that copy's event, long done by then).
#include <cuda_runtime.h>

#include <cstring>
#include <vector>

#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/upload.h"

namespace rg::cuda {
namespace {

class CudaUploader final : public Uploader {
 public:
  explicit CudaUploader(int device) : device_(device) {
    DeviceGuard guard(device_);
    // Non-blocking: a stream created plainly would synchronize with the legacy default stream and
    // the copy would wait for the very step it is meant to overlap.
    RG_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    RG_CUDA_CHECK(cudaEventCreateWithFlags(&queued_work_, cudaEventDisableTiming));
    for (Slot& slot : slots_) RG_CUDA_CHECK(cudaEventCreateWithFlags(&slot.copied, cudaEventDisableTiming));
  }

  ~CudaUploader() override {
    DeviceGuard guard(device_);
    for (Slot& slot : slots_) {
      cudaEventSynchronize(slot.copied);
      cudaEventDestroy(slot.copied);
      if (slot.pinned) cudaFreeHost(slot.pinned);
    }
    cudaEventDestroy(queued_work_);
    cudaStreamDestroy(stream_);
  }

  Upload start(const Tensor& host_in) override {
    RG_CHECK(host_in.device().is_cpu(), "upload: expected a CPU tensor, got one on ", host_in.device());
    DeviceGuard guard(device_);
    const Tensor host = contiguous_untracked(host_in);
    const size_t bytes = size_t(host.numel()) * dtype_size(host.dtype());
    Tensor out = Tensor::empty(host.shape(), host.dtype(), Device::cuda(device_));
    if (bytes == 0) return Upload(out, nullptr);

    Slot& slot = slots_[next_++ % slots_.size()];
    RG_CUDA_CHECK(cudaEventSynchronize(slot.copied));  // its last copy has finished
    if (slot.bytes < bytes) {
      if (slot.pinned) RG_CUDA_CHECK(cudaFreeHost(slot.pinned));
      slot.pinned = nullptr;
      slot.bytes = 0;
      RG_CUDA_CHECK(cudaMallocHost(&slot.pinned, bytes));
      slot.bytes = bytes;
    }
    std::memcpy(slot.pinned, host.data_ptr(), bytes);

    RG_CUDA_CHECK(cudaEventRecord(queued_work_, cudaStreamLegacy));
    RG_CUDA_CHECK(cudaStreamWaitEvent(stream_, queued_work_, 0));
    RG_CUDA_CHECK(cudaMemcpyAsync(out.data_ptr(), slot.pinned, bytes, cudaMemcpyHostToDevice, stream_));
    RG_CUDA_CHECK(cudaEventRecord(slot.copied, stream_));
    const cudaEvent_t copied = slot.copied;
    const int device = device_;
    return Upload(out, [copied, device] {
      DeviceGuard g(device);
      RG_CUDA_CHECK(cudaStreamWaitEvent(cudaStreamLegacy, copied, 0));
    });
  }

 private:
  struct Slot {
    void* pinned = nullptr;
    size_t bytes = 0;
    cudaEvent_t copied = nullptr;
  };
  int device_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t queued_work_ = nullptr;
  // Four staging buffers: a batch's images and labels, for the batch in flight and the one before.
  std::vector<Slot> slots_ = std::vector<Slot>(4);
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<Uploader> make_uploader(int device) { return std::make_unique<CudaUploader>(device); }

}  // namespace rg::cuda
