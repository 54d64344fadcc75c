// The backward pass.
#pragma once

#include "tensor/tensor.h"

namespace rg {

// Computes d(root)/d(leaf) for every leaf that requires grad and adds it to leaf.grad() (in place
// when the leaf has one already, as PyTorch does).
// `grad` is d(final)/d(root); it may be left out when root has one element (it is then 1).
// Non-leaf tensors that asked with retain_grad() get their gradient too. The graph is freed on
// the way (saved tensors are released); a second backward() through it is an error.
void backward(const Tensor& root, const Tensor& grad = Tensor());

}  // namespace rg
