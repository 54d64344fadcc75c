// Batch normalization over the channels of [N, C, H, W] (or [N, C]) inputs, as PyTorch's
// BatchNorm2d / BatchNorm1d:
//
//   training: mean_c, var_c over (N, H, W) of this batch (biased var for the output)
//   eval:     mean_c, var_c = the running statistics
//   y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c
//
// batch_norm is pure: in training mode it returns this batch's statistics, and the caller
// (BatchNorm2d, layers/modules.h) updates its running statistics with them:
//   running_mean = (1 - momentum) running_mean + momentum mean_c
//   running_var  = (1 - momentum) running_var  + momentum var_c * M / (M - 1)   (unbiased)
// so that a forward recomputed for the backward does not update them twice.
// With relu, y = max(0, ...) in the same pass (and the backward masks in the same pass): what
// DenseNet does after most of its batch norms, without a second tensor and two more passes.
// The kernels sit behind layers/kernels.h (CPU reference, fast CPU, cuDNN).
#pragma once

#include "tensor/tensor.h"

namespace rg {

struct BatchNormOutput {
  Tensor y;  // x's shape
  // Training mode: this batch's mean and unbiased variance [C] (no gradient flows through them).
  // Eval mode: undefined.
  Tensor batch_mean, batch_var;
};

// weight, bias: [C] (undefined for no affine transform); running_mean, running_var: [C], read in
// eval mode only (training mode may leave them undefined).
BatchNormOutput batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                           const Tensor& running_var, bool training, double eps = 1e-5, bool relu = false);

}  // namespace rg
