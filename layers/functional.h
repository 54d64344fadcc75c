// Small layer ops built from the differentiable ops in autograd/ops.h (their backward comes
// from those): linear, dropout.
#pragma once

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace rg {

// x: [N, in], weight: [out, in] (PyTorch's layout), bias: [out] or undefined -> [N, out]
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// Training: each element is zeroed with probability p and the rest scaled by 1 / (1 - p), with
// the mask drawn from `gen`. Eval (training = false) or p = 0: x unchanged.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

}  // namespace rg
