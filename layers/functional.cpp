#include "layers/functional.h"

#include "autograd/ops.h"

namespace rg {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  RG_CHECK(x.dim() == 2 && weight.dim() == 2 && x.size(1) == weight.size(1),
           "linear: expected x [N, in] and weight [out, in], got ", shape_str(x.shape()), " and ",
           shape_str(weight.shape()));
  Tensor y = matmul(x, transpose(weight, 0, 1));
  return bias.defined() ? y + bias : y;
}

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  RG_CHECK(p >= 0 && p < 1, "dropout: p must be in [0, 1), got ", p);
  if (!training || p == 0) return x;
  const Tensor keep = lt(rand(x.shape(), 0, 1, x.dtype(), x.device(), gen), scalar_like(x, 1 - p));
  return x * keep / (1 - p);
}

}  // namespace rg
