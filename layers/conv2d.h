// 2-D convolution (cross-correlation, as in every framework), with its backward.
//
//   y[n, o, i, j] = bias[o] + sum_{c, p, q} w[o, c, p, q] * x[n, c, i*sh + p*dh - ph, j*sw + q*dw - pw]
//
// (x is zero outside its borders.) Output size: oh = (h + 2 ph - dh (kh - 1) - 1) / sh + 1.
// The kernels sit behind layers/kernels.h: a plain reference loop and the fast CPU path (GEMM on
// OpenBLAS, directly for 1x1 convolutions, through im2col for the others) in layers/cpu/, cuDNN in
// layers/cuda/.
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

}  // namespace rg
