#include "losses/known_labels.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace rg {

KnownLabels known_labels(const Tensor& labels) {
  RG_CHECK(labels.dim() == 2 && labels.size(0) > 0, "known_labels: expected labels [N, L] with N > 0, got ",
           shape_str(labels.shape()));
  NoGradGuard no_grad;
  const Tensor known = eq(labels, labels);  // NaN is the one value not equal to itself
  const double n = double(labels.size(0));
  return {where(known, labels, scalar_like(labels, 0.0)), known, n / clamp(sum(known, {0}), 1.0, n)};
}

}  // namespace rg
