// Channel concatenation that stores every part once.
//
// A dense block feeds layer l with cat(x0, y1, ..., y_{l-1}) along the channels. Calling cat()
// for each layer would copy all earlier features again and again (memory and time quadratic in
// depth). Instead the block preallocates one [N, C_total, H, W] buffer: append() copies each new
// part into the next free channels, once, and view() hands out the filled channels as a view —
// differentiable like cat(): its backward gives each part its channel slice of the gradient.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace rg {

class ConcatBuffer {
 public:
  // Room for `channels` channels of [n, *, h, w].
  ConcatBuffer(int64_t n, int64_t channels, int64_t h, int64_t w, DType dtype, Device device);

  // Copies part [n, c, h, w] into the next c free channels.
  void append(const Tensor& part);
  // The parts appended so far, concatenated: [n, filled, h, w], a view of the buffer.
  Tensor view() const;
  int64_t filled() const { return filled_; }

 private:
  Tensor buffer_;
  int64_t filled_ = 0;
  std::vector<Tensor> parts_;  // the appended tensors, for the gradient
};

}  // namespace rg
