// Helpers shared by the ops_*.cpp files (not part of the public API).
#pragma once

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/backend.h"

namespace rg::detail {

using autograd::record;
using Grads = std::vector<Tensor>;

// Throws unless a and b share dtype and device, naming `op`.
inline void check_same_kind(const Tensor& a, const Tensor& b, const char* op) {
  RG_CHECK(a.defined() && b.defined(), op, ": got an undefined tensor");
  RG_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch: ", a.dtype(), " vs ", b.dtype(),
           " (shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()), ")");
  RG_CHECK(a.device() == b.device(), op, ": tensors are on different devices: ", a.device(),
           " and ", b.device());
}

}  // namespace rg::detail
