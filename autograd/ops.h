// The differentiable ops. Each one runs its kernel through backend_for(device) (tensor/backend.h)
// and records a node whose backward closure sits right next to the forward, in ops_*.cpp.
//
// Rules shared by all ops:
//  - Inputs must have the same dtype and device (no silent promotion); errors name the op.
//  - Binary elementwise ops broadcast like NumPy: [4, 3] + [3] -> [4, 3].
//  - Views (reshape of contiguous data, transpose, permute, slice, expand, squeeze, unsqueeze)
//    share storage with their input and are differentiable like any other op.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace rg {

using Dims = std::vector<int64_t>;

// ---- Elementwise (ops_elementwise.cpp) --------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);
Tensor clamp(const Tensor& x, double low, double high);
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);  // 1 / (1 + e^-x), stable for large |x|
Tensor silu(const Tensor& x);     // x * sigmoid(x)
// cond != 0 ? a : b, broadcasting all three; cond is not differentiated.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Comparisons give 1 where true and 0 elsewhere, in the inputs' dtype. Not differentiable.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);

// A 0-d tensor holding `value`, with x's dtype and device (for tensor-scalar arithmetic).
Tensor scalar_like(const Tensor& x, double value);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

// ---- Reductions and matmul (ops_reduce.cpp) -------------------------------------------------
// Over `dims` (all dims when empty); keepdim leaves the reduced dims in place with size 1.
Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
// The largest value; its gradient is shared equally between tied maxima.
Tensor max(const Tensor& x, const Dims& dims = {}, bool keepdim = false);

// Sums `grad` over the dims that broadcasting expanded, giving it `shape` again.
Tensor sum_to(const Tensor& grad, const Shape& shape);

// a: [M, K], b: [K, N] -> [M, N];  or batched  a: [B, M, K], b: [B, K, N] -> [B, M, N].
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- Views and joins (ops_shape.cpp) --------------------------------------------------------
// New shape with the same number of elements; one entry may be -1 (inferred). A view when x is
// contiguous, otherwise a copy.
Tensor reshape(const Tensor& x, const Shape& shape);
// Like reshape, but always a view: an error when x is not contiguous.
Tensor view(const Tensor& x, const Shape& shape);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor permute(const Tensor& x, const Dims& order);  // out dim i is x dim order[i]
// Elements start..end-1 along `dim` (negative values count from the end).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end);
Tensor expand(const Tensor& x, const Shape& shape);  // broadcast to `shape` without copying
Tensor unsqueeze(const Tensor& x, int64_t dim);      // insert a dim of size 1
Tensor squeeze(const Tensor& x, int64_t dim);        // remove a dim of size 1
Tensor contiguous(const Tensor& x);                  // x itself if contiguous, else a copy
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);

}  // namespace rg
