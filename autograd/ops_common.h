// Helpers shared by the ops_*.cpp files and the layer ops in layers/ (not part of the public API).
#pragma once

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/backend.h"

namespace rg::detail {

using autograd::record;
using Grads = std::vector<Tensor>;

// Throws unless `b` shares a's dtype and device, naming `op` and what b is to it ("the weight").
// The one such check for every op, in autograd/ and layers/ alike.
inline void check_same_kind(const Tensor& a, const Tensor& b, const char* op, const char* what = "the second input") {
  RG_CHECK(a.defined() && b.defined(), op, ": got an undefined tensor");
  RG_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch: ", a.dtype(), " vs ", b.dtype(), " (", what, "; shapes ",
           shape_str(a.shape()), " and ", shape_str(b.shape()), ")");
  RG_CHECK(a.device() == b.device(), op, ": tensors are on different devices: ", a.device(), " and ", b.device(), " (",
           what, ")");
}

}  // namespace rg::detail
