// Helpers shared by the layer ops (not public API).
#pragma once

#include "autograd/node.h"
#include "autograd/ops.h"

namespace rg::layers_detail {

using autograd::NeedsGrad;
using autograd::record;
using Grads = std::vector<Tensor>;

// x itself when each sample [C, H, W] is contiguous and samples do not overlap (any batch stride
// from C*H*W up, e.g. a channel prefix of a dense block's buffer), else a contiguous copy. (An
// expanded batch, stride 0, is copied: cuDNN reads overlapping inputs only in forward passes.)
inline Tensor samples_contiguous(const Tensor& x) {
  const auto& s = x.strides();
  const int64_t sample = x.dim() == 4 ? x.size(1) * x.size(2) * x.size(3) : 0;
  const bool ok = x.dim() == 4 && s[3] == 1 && s[2] == x.size(3) && s[1] == x.size(2) * x.size(3) &&
                  (x.size(0) == 1 || s[0] >= sample);
  return ok ? x : as_contiguous(x);
}

inline void check_kind(const Tensor& a, const Tensor& b, const char* op, const char* what) {
  RG_CHECK(a.dtype() == b.dtype(), op, ": ", what, " has dtype ", b.dtype(), ", the input ", a.dtype());
  RG_CHECK(a.device() == b.device(), op, ": ", what, " is on ", b.device(), ", the input on ", a.device());
}

}  // namespace rg::layers_detail
