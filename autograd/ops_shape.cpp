// Views (reshape, transpose, permute, slice, expand, squeeze, unsqueeze), contiguous, cat, stack.
// A view's backward puts the gradient back into the input's shape.
#include <numeric>

#include "autograd/ops_common.h"
#include "tensor/factory.h"

namespace rg {

using namespace detail;

namespace {

// Resolves one -1 entry and checks the element count, naming `op`.
Shape infer_shape(const Tensor& x, Shape shape, const char* op) {
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      RG_CHECK(infer_at < 0, op, ": only one dim may be -1 in ", shape_str(shape));
      infer_at = int64_t(i);
    } else {
      RG_CHECK(shape[i] >= 0, op, ": invalid size ", shape[i], " in ", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer_at >= 0) {
    RG_CHECK(known > 0 && x.numel() % known == 0, op, ": cannot infer the -1 in ", shape_str(shape), " for ", x.numel(),
             " elements (input shape ", shape_str(x.shape()), ")");
    shape[infer_at] = x.numel() / known;
  }
  RG_CHECK(numel(shape) == x.numel(), op, ": cannot view ", shape_str(x.shape()), " (", x.numel(), " elements) as ",
           shape_str(shape), " (", numel(shape), " elements)");
  return shape;
}

}  // namespace

Tensor view(const Tensor& x, const Shape& shape_in) {
  const Shape shape = infer_shape(x, shape_in, "view");
  RG_CHECK(x.is_contiguous(), "view: input of shape ", shape_str(x.shape()), " with strides ", shape_str(x.strides()),
           " is not contiguous; use reshape (which copies) or contiguous()");
  Tensor out = view_untracked(x, shape, contiguous_strides(shape), x.offset());
  return record("view", out, {x},
                [in_shape = x.shape()](const Tensor& gy) -> Grads { return {reshape(gy, in_shape)}; });
}

Tensor reshape(const Tensor& x, const Shape& shape) { return view(contiguous(x), infer_shape(x, shape, "reshape")); }

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  return record("contiguous", contiguous_untracked(x), {x}, [](const Tensor& gy) -> Grads { return {gy}; });
}

Tensor permute(const Tensor& x, const Dims& order) {
  RG_CHECK(int64_t(order.size()) == x.dim(), "permute: order has ", order.size(), " dims, the tensor has ", x.dim(),
           " (shape ", shape_str(x.shape()), ")");
  Shape shape(x.dim());
  Strides strides(x.dim());
  Dims inverse(x.dim(), -1);
  for (int64_t i = 0; i < x.dim(); ++i) {
    const int64_t d = normalize_dim(order[i], x.dim(), "permute");
    RG_CHECK(inverse[d] < 0, "permute: dim ", order[i], " appears twice in the order");
    inverse[d] = i;
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
  }
  Tensor out = view_untracked(x, shape, strides, x.offset());
  return record("permute", out, {x}, [inverse](const Tensor& gy) -> Grads { return {permute(gy, inverse)}; });
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  Dims order(x.dim());
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[normalize_dim(dim0, x.dim(), "transpose")], order[normalize_dim(dim1, x.dim(), "transpose")]);
  return permute(x, order);
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end) {
  const int64_t d = normalize_dim(dim, x.dim(), "slice");
  const int64_t size = x.shape()[d];
  const int64_t s = start < 0 ? start + size : start, e = end < 0 ? end + size : end;
  RG_CHECK(0 <= s && s <= e && e <= size, "slice: range [", start, ", ", end, ") is out of range for dim ", dim,
           " of size ", size, " (shape ", shape_str(x.shape()), ")");
  Shape shape = x.shape();
  shape[d] = e - s;
  Tensor out = view_untracked(x, shape, x.strides(), x.offset() + s * x.strides()[d]);
  // The gradient lands in the sliced range; the rest of the input gets zero.
  return record("slice", out, {x}, [in_shape = x.shape(), d, s, e](const Tensor& gy) -> Grads {
    Tensor full_grad = zeros(in_shape, gy.dtype(), gy.device());
    Tensor window = view_untracked(full_grad, gy.shape(), full_grad.strides(), s * full_grad.strides()[d]);
    window.copy_(gy);
    return {full_grad};
  });
}

Tensor expand(const Tensor& x, const Shape& shape) {
  const Shape joint = broadcast_shapes(x.shape(), shape, "expand");
  RG_CHECK(joint == shape, "expand: cannot expand shape ", shape_str(x.shape()), " to ", shape_str(shape));
  return record("expand", expand_untracked(x, shape), {x},
                [in_shape = x.shape()](const Tensor& gy) -> Grads { return {sum_to(gy, in_shape)}; });
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  const int64_t d = normalize_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape();
  Strides strides = x.strides();
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, d < x.dim() ? x.strides()[d] * x.shape()[d] : 1);
  return record("unsqueeze", view_untracked(x, shape, strides, x.offset()), {x},
                [d](const Tensor& gy) -> Grads { return {squeeze(gy, d)}; });
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  const int64_t d = normalize_dim(dim, x.dim(), "squeeze");
  RG_CHECK(x.shape()[d] == 1, "squeeze: dim ", dim, " has size ", x.shape()[d], ", expected 1 (shape ",
           shape_str(x.shape()), ")");
  Shape shape = x.shape();
  Strides strides = x.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return record("squeeze", view_untracked(x, shape, strides, x.offset()), {x},
                [d](const Tensor& gy) -> Grads { return {unsqueeze(gy, d)}; });
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  RG_CHECK(!tensors.empty(), "cat: expected at least one tensor");
  const Tensor& first = tensors[0];
  const int64_t d = normalize_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    check_same_kind(first, t, "cat");
    bool fits = t.dim() == first.dim();
    for (int64_t k = 0; fits && k < t.dim(); ++k) fits = k == d || t.shape()[k] == first.shape()[k];
    RG_CHECK(fits, "cat: tensor ", i, " has shape ", shape_str(t.shape()), ", expected ", shape_str(first.shape()),
             " in every dim but ", d);
    shape[d] += t.shape()[d];
  }
  // Each input is copied into its own window of the output.
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  std::vector<int64_t> starts;
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    starts.push_back(at);
    Shape window_shape = shape;
    window_shape[d] = t.shape()[d];
    view_untracked(out, window_shape, out.strides(), at * out.strides()[d]).copy_(t);
    at += t.shape()[d];
  }
  std::vector<int64_t> sizes;
  for (const Tensor& t : tensors) sizes.push_back(t.shape()[d]);
  return record("cat", out, tensors, [d, starts, sizes](const Tensor& gy) -> Grads {
    Grads grads;
    for (size_t i = 0; i < starts.size(); ++i) grads.push_back(slice(gy, d, starts[i], starts[i] + sizes[i]));
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  RG_CHECK(!tensors.empty(), "stack: expected at least one tensor");
  const int64_t d = normalize_dim(dim, tensors[0].dim() + 1, "stack");
  for (size_t i = 1; i < tensors.size(); ++i)
    RG_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: tensor ", i, " has shape ",
             shape_str(tensors[i].shape()), ", expected ", shape_str(tensors[0].shape()));
  std::vector<Tensor> lifted;
  for (const Tensor& t : tensors) lifted.push_back(unsqueeze(t, d));
  return cat(lifted, d);
}

}  // namespace rg
