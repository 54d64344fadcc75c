// Helpers shared by the layer ops (not public API).
#pragma once

#include "autograd/ops_common.h"

namespace rg::detail {

using autograd::NeedsGrad;

// x itself when each sample [C, H, W] is contiguous and samples do not overlap (any batch stride
// from C*H*W up, e.g. a channel prefix of a dense block's buffer), else a contiguous copy. (An
// expanded batch, stride 0, is copied: cuDNN reads overlapping inputs only in forward passes.)
inline Tensor samples_contiguous(const Tensor& x) {
  const auto& s = x.strides();
  const int64_t sample = x.dim() == 4 ? x.size(1) * x.size(2) * x.size(3) : 0;
  const bool ok = x.dim() == 4 && s[3] == 1 && s[2] == x.size(3) && s[1] == x.size(2) * x.size(3) &&
                  (x.size(0) == 1 || s[0] >= sample);
  return ok ? x : contiguous_untracked(x);
}

}  // namespace rg::detail
