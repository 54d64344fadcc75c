// Reductions (sum, mean, max over dims) and matmul.
#include <algorithm>

#include "autograd/ops_common.h"
#include "tensor/factory.h"

namespace rg {

using namespace detail;

namespace {

// The reduced dims as a mask over x's dims (all of them when `dims` is empty).
std::vector<bool> reduced_mask(const Tensor& x, const Dims& dims, const char* op) {
  std::vector<bool> mask(x.dim(), dims.empty());
  for (int64_t d : dims) {
    const int64_t n = normalize_dim(d, x.dim(), op);
    RG_CHECK(!mask[n], op, ": dim ", d, " is listed twice");
    mask[n] = true;
  }
  return mask;
}

// Shape with the reduced dims set to 1 (keepdim) or removed.
Shape reduced_shape(const Tensor& x, const std::vector<bool>& mask, bool keepdim) {
  Shape shape;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (!mask[d])
      shape.push_back(x.shape()[d]);
    else if (keepdim)
      shape.push_back(1);
  }
  return shape;
}

// Runs the reduction kernel; the result has x's rank with size 1 on reduced dims.
Tensor reduce_kernel(ReduceOp op, const Tensor& x, const std::vector<bool>& mask) {
  Tensor out = Tensor::empty(reduced_shape(x, mask, true), x.dtype(), x.device());
  backend_for(x.device()).reduce(op, x, out);
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  const auto mask = reduced_mask(x, dims, "sum");
  Tensor kept = reduce_kernel(ReduceOp::Sum, x, mask);
  Tensor out = keepdim ? kept
                       : view_untracked(kept, reduced_shape(x, mask, false),
                                        contiguous_strides(reduced_shape(x, mask, false)), 0);
  // Every input element contributed once: its gradient is the output's, broadcast back.
  return record("sum", out, {x}, [shape = x.shape(), kept_shape = kept.shape()](const Tensor& gy) -> Grads {
    return {expand_untracked(reshape(gy, kept_shape), shape)};
  });
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  const auto mask = reduced_mask(x, dims, "mean");
  int64_t count = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (mask[d]) count *= x.shape()[d];
  RG_CHECK(count > 0, "mean: cannot average over zero elements (shape ", shape_str(x.shape()), ")");
  return sum(x, dims, keepdim) / double(count);
}

Tensor max(const Tensor& x, const Dims& dims, bool keepdim) {
  const auto mask = reduced_mask(x, dims, "max");
  for (int64_t d = 0; d < x.dim(); ++d)
    RG_CHECK(!mask[d] || x.shape()[d] > 0, "max: cannot reduce over empty dim ", d, " of shape ", shape_str(x.shape()));
  Tensor kept = reduce_kernel(ReduceOp::Max, x, mask);
  const Shape out_shape = reduced_shape(x, mask, keepdim);
  Tensor out = view_untracked(kept, out_shape, contiguous_strides(out_shape), 0);
  // The gradient goes to the elements equal to the maximum, split evenly between ties.
  return record("max", out, {x}, [x = x.detach(), kept, dims](const Tensor& gy) -> Grads {
    Tensor is_max = eq(x, expand_untracked(kept, x.shape()));
    Tensor ties = sum(is_max, dims, true);
    return {reshape(gy, kept.shape()) * is_max / ties};
  });
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int64_t lead = grad.dim() - int64_t(shape.size());
  RG_CHECK(lead >= 0, "sum_to: cannot reduce shape ", shape_str(grad.shape()), " to larger rank ", shape_str(shape));
  Dims dims;
  for (int64_t d = 0; d < grad.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && grad.shape()[d] != 1)) dims.push_back(d);
  Tensor summed = dims.empty() ? grad : sum(grad, dims, true);
  return reshape(summed, shape);
}

// C = A B:  dA = dC B^T,  dB = A^T dC  (per batch for 3-D inputs).
Tensor matmul(const Tensor& a, const Tensor& b) {
  check_same_kind(a, b, "matmul");
  const bool batched = a.dim() == 3;
  RG_CHECK((a.dim() == 2 && b.dim() == 2) || (a.dim() == 3 && b.dim() == 3),
           "matmul: expected two 2-D [M, K] x [K, N] or two 3-D [B, M, K] x [B, K, N] tensors, got ",
           shape_str(a.shape()), " and ", shape_str(b.shape()));
  const int64_t k_a = a.size(-1), k_b = b.size(-2);
  RG_CHECK(k_a == k_b, "matmul: inner sizes differ: ", shape_str(a.shape()), " x ", shape_str(b.shape()), " (", k_a,
           " vs ", k_b, ")");
  RG_CHECK(!batched || a.size(0) == b.size(0), "matmul: batch sizes differ: ", shape_str(a.shape()), " x ",
           shape_str(b.shape()));

  // The kernel always sees 3-D operands: a 2-D matrix is a batch of one.
  auto as_batch = [](const Tensor& t) {
    if (t.dim() == 3) return t;
    return view_untracked(t, {1, t.size(0), t.size(1)}, {0, t.strides()[0], t.strides()[1]}, t.offset());
  };
  const int64_t batch = batched ? a.size(0) : 1, m = a.size(-2), n = b.size(-1);
  Tensor out3 = Tensor::empty({batch, m, n}, a.dtype(), a.device());
  backend_for(a.device()).matmul(as_batch(a), as_batch(b), out3);
  Tensor out = batched ? out3 : view_untracked(out3, {m, n}, {n, 1}, 0);

  return record("matmul", out, {a, b}, [a = a.detach(), b = b.detach()](const Tensor& gy) -> Grads {
    const int64_t r = a.dim();  // transpose the last two dims
    return {matmul(gy, transpose(b, r - 2, r - 1)), matmul(transpose(a, r - 2, r - 1), gy)};
  });
}

}  // namespace rg
