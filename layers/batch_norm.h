// Batch normalization over the channels of [N, C, H, W] (or [N, C]) inputs, as PyTorch's
// BatchNorm2d / BatchNorm1d:
//
//   training: mean_c, var_c over (N, H, W) of this batch (biased var for the output);
//             running_mean = (1 - momentum) running_mean + momentum mean_c
//             running_var  = (1 - momentum) running_var  + momentum var_c * M / (M - 1)   (unbiased)
//   eval:     mean_c, var_c = running_mean, running_var
//   y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c
//
// The kernel is one plain pass per channel (OpenMP over channels), which is also the fast path.
#pragma once

#include "tensor/tensor.h"

namespace rg {

// weight, bias: [C] (undefined for no affine transform); running_mean, running_var: [C] buffers,
// updated in place in training mode (undefined: always use batch statistics).
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);

}  // namespace rg
