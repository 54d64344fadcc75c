// 2-D convolution (cross-correlation, as in every framework), with its backward.
//
//   y[n, o, i, j] = bias[o] + sum_{c, p, q} w[o, c, p, q] * x[n, c, i*sh + p*dh - ph, j*sw + q*dw - pw]
//
// (x is zero outside its borders.) Output size: oh = (h + 2 ph - dh (kh - 1) - 1) / sh + 1.
// The CPU kernels (conv2d_cpu.cpp): a plain reference loop, and the fast path — GEMM on OpenBLAS,
// directly for 1x1 convolutions, through im2col for the others.
#pragma once

#include "tensor/tensor.h"

namespace rg {

struct Conv2dOptions {
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
};

// x: [N, C, H, W], weight: [O, C, KH, KW], bias: [O] or undefined -> [N, O, OH, OW]
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Conv2dOptions options = {});

// The sizes of one convolution, worked out once and handed to the kernels.
struct Conv2dGeometry {
  int64_t n, c, h, w;       // input
  int64_t o, kh, kw;        // weight
  int64_t oh, ow;           // output
  int64_t sh, sw, ph, pw, dh, dw;
};

namespace cpu::conv {
// Kernels. x and gy are [N, ...] with each sample contiguous (any batch stride); weight, outputs
// and gradients contiguous. Gradient pointers may be null when that gradient is not wanted.
void forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const Conv2dGeometry& g);
void backward(const Tensor& x, const Tensor& weight, const Tensor& gy, Tensor* gx, Tensor* gw, Tensor* gb,
              const Conv2dGeometry& g);
namespace reference {
void forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const Conv2dGeometry& g);
void backward(const Tensor& x, const Tensor& weight, const Tensor& gy, Tensor* gx, Tensor* gw, Tensor* gb,
              const Conv2dGeometry& g);
}  // namespace reference
}  // namespace cpu::conv

}  // namespace rg
