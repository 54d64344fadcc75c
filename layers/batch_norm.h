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
// Built from the four batch-norm steps of layers/kernels.h (statistics, normalization, the
// backward's sums, the backward's gx), as sync_batch_norm is.
#pragma once

#include <functional>
#include <utility>

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

// ---- the parts batch_norm and sync_batch_norm share (layers/sync_batch_norm.cpp) ----
namespace detail {

// A batch norm's inputs, as given (gradients flow back to these) and as the kernels take them.
struct BatchNormInputs {
  Tensor x_in, weight_in, bias_in;  // as given
  Tensor x, weight, bias;           // x with each sample contiguous (a channel prefix stays a view)
};

// The argument checks, named for `op`: x [N, C, H, W] or [N, C]; every defined per-channel tensor
// (weight, bias, statistics) [C] of x's dtype and device.
BatchNormInputs batch_norm_inputs(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Tensor& running_mean = Tensor(), const Tensor& running_var = Tensor());

// For the backward: from this process's sums [sum_dy, sum_dy_xmu] (float64 [2C]), the sums over
// every value the statistics came from, and their count. Null: the statistics are constants (eval).
using StatisticsSums = std::function<std::pair<Tensor, int64_t>(const Tensor& local_sums)>;

// y = (x - mean) / sqrt(var + eps) * weight + bias (then the ReLU), recorded as `name` with its
// backward; mean and var [C]: the (biased) statistics y is normalized by.
Tensor normalize(const char* name, const BatchNormInputs& in, const Tensor& mean, const Tensor& var, double eps,
                 bool relu, StatisticsSums statistics_sums);

}  // namespace detail

}  // namespace rg
