// Host-to-GPU copies that overlap the GPU's work: the next batch travels while the current one
// trains.
//
//   auto uploader = make_uploader(device);
//   Upload next = uploader->start(batch.images);  // returns at once; the copy runs on a side stream
//   ...                                            // the GPU keeps computing
//   Tensor images = next.take();                   // ops queued from here on run after the copy
//
// On a GPU (tensor/cuda/upload.cpp) the host tensor is first copied into pinned (page-locked)
// staging memory, from which the GPU's copy engine reads at full bus speed without a synchronous
// staging step, on a stream of its own; take() makes the device's default stream wait for the
// copy with an event, so the host never waits. On the CPU, start() hands back the tensor itself.
#pragma once

#include <functional>
#include <memory>

#include "tensor/tensor.h"

namespace rg {

// One copy in flight: its tensor on the device, and what orders the device's work after it.
class Upload {
 public:
  Upload() = default;
  Upload(Tensor tensor, std::function<void()> order_after)
      : tensor_(std::move(tensor)), order_(std::move(order_after)) {}
  Upload(Upload&&) = default;
  Upload& operator=(Upload&& other) noexcept;
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;
  // An upload dropped untaken still orders the device after its copy, so its memory is never
  // handed out again while the copy writes it.
  ~Upload();

  // The tensor on the device; every op queued from now on runs after its copy.
  Tensor take();
  bool pending() const { return tensor_.defined(); }

 private:
  void order();
  Tensor tensor_;
  std::function<void()> order_;
};

class Uploader {
 public:
  virtual ~Uploader() = default;
  // Starts copying `host` (a CPU tensor, any layout) to the uploader's device.
  virtual Upload start(const Tensor& host) = 0;
};

// The uploader for `device` (an rg::Error naming the reason when it cannot run there).
std::unique_ptr<Uploader> make_uploader(Device device);

}  // namespace rg
