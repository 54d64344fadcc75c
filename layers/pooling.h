// Pooling over [N, C, H, W] inputs, as PyTorch's MaxPool2d / AvgPool2d (ceil_mode off):
//   out size = (h + 2 padding - kernel) / stride + 1
//   max_pool2d: padding acts as -infinity (it is never the maximum); the gradient goes to the
//               position of each window's maximum (the first one on ties).
//   avg_pool2d: padding counts as zeros in the average (count_include_pad, PyTorch's default).
//   global_avg_pool2d: the mean over H and W -> [N, C] (an average pool whose window is the plane).
// The kernels sit behind layers/kernels.h (CPU reference, fast CPU, cuDNN).
#pragma once

#include "layers/geometry.h"
#include "tensor/tensor.h"

namespace rg {

// x: [N, C, H, W] -> [N, C, OH, OW]
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0);
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0);
Tensor global_avg_pool2d(const Tensor& x);

// Average pooling over any window geometry (g from window_geometry(x, ...)): the op behind both above.
Tensor avg_pool_window(const Tensor& x, const WindowGeometry& g);

}  // namespace rg
