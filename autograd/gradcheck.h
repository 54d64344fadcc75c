// gradcheck: does an op's backward agree with finite differences of its forward?
//
// For every input element x_k and output element y_j it compares the analytic dy_j/dx_k (from
// backward() with a one-hot output gradient) with the central difference
//     (y_j(x_k + eps) - y_j(x_k - eps)) / (2 eps)
// in float64, and passes when |analytic - numeric| <= atol + rtol * |numeric| everywhere.
//
// Kinks: at a point where the function is not differentiable (relu at 0, clamp at its bounds,
// max at a tie), the left and right one-sided differences disagree and no single number is
// "the" derivative. Such input elements are skipped and counted in `kinks`, never failed.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace rg {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-4;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;   // the first mismatches, or "ok"
  int64_t compared = 0;  // Jacobian entries compared
  int64_t kinks = 0;     // input elements skipped as non-differentiable points
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

// `inputs` must be contiguous float64 CPU tensors; those with requires_grad are checked.
GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace rg
