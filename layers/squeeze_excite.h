// Squeeze-and-excitation (Hu et al., 2018): reweights the channels of a feature map by a gate
// computed from the channels' global averages — the worked example of docs/extending.md.
//
//   s = mean_{h,w} x             [N, C]        squeeze: one number per channel
//   z = relu(s W1^T + b1)        [N, C / r]    excite: a bottleneck of reduction r ...
//   g = sigmoid(z W2^T + b2)     [N, C]        ... back to one gate in (0, 1) per channel
//   y = channel_scale(x, g)      [N, C, H, W]  y[n, c, h, w] = x[n, c, h, w] * g[n, c]
//
// channel_scale is the one new op: its checks and backward are in squeeze_excite.cpp, its
// kernels behind layers/kernels.h (reference and fast CPU in layers/cpu/, CUDA in layers/cuda/).
// The squeeze and the two linear layers are existing ops.
#pragma once

#include "layers/modules.h"

namespace rg {

// x: [N, C, H, W] (any batch stride, each sample contiguous), s: [N, C] -> [N, C, H, W]
//   backward: gx = gy * s,  gs[n, c] = sum_{h, w} gy * x
Tensor channel_scale(const Tensor& x, const Tensor& s);

// fc1: Linear(C, C / r) and fc2: Linear(C / r, C), named like timm's SE modules' fc1/fc2.
class SqueezeExcite : public Module {
 public:
  SqueezeExcite(int64_t channels, int64_t reduction = 16, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) const;  // [N, C, H, W] -> [N, C, H, W]

  std::shared_ptr<Linear> fc1, fc2;
};

}  // namespace rg
