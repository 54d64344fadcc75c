#include "tensor/tensor.h"

#include "tensor/backend.h"

namespace rg {

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t s : shape) RG_CHECK(s >= 0, "Tensor::empty: negative size in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(rg::numel(shape) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d, dim(), "Tensor::size")]; }

bool Tensor::is_contiguous() const {
  // Dims of size 1 may have any stride; all others must step row-major.
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

Tensor Tensor::to(Device device) const {
  Tensor out = Tensor::empty(shape(), dtype(), device);
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  Tensor out = Tensor::empty(shape(), dtype, device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::detach() const { return view_untracked(*this, shape(), strides(), offset()); }

Tensor& Tensor::copy_(const Tensor& src) {
  const Shape joint = broadcast_shapes(src.shape(), shape(), "copy_");
  RG_CHECK(joint == shape(), "copy_: source of shape ", shape_str(src.shape()),
           " cannot be broadcast to destination shape ", shape_str(shape()));
  const Tensor source = expand_untracked(src, shape());
  if (src.device() == device()) {
    backend_for(device()).copy(source, *this);
    return *this;
  }
  // Across devices: the bytes move between contiguous tensors of one dtype. When both already
  // are, directly; otherwise through a contiguous block of our dtype on the source device, and
  // on to this view's layout.
  if (source.is_contiguous() && src.dtype() == dtype() && is_contiguous()) {
    transfer(source, *this);
    return *this;
  }
  Tensor packed = Tensor::empty(shape(), dtype(), src.device());
  backend_for(src.device()).copy(source, packed);
  if (is_contiguous()) {
    transfer(packed, *this);
  } else {
    Tensor landed = Tensor::empty(shape(), dtype(), device());
    transfer(packed, landed);
    backend_for(device()).copy(landed, *this);
  }
  return *this;
}

Tensor& Tensor::fill_(double value) {
  backend_for(device()).fill(*this, value);
  return *this;
}

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  RG_CHECK(is_leaf(),
           "set_requires_grad: only leaf tensors can change requires_grad; this one "
           "was made by an op and follows its inputs");
  RG_CHECK(!requires_grad || is_floating(dtype()),
           "set_requires_grad: only float32/float64 tensors can require grad, got ", dtype());
  impl().requires_grad = requires_grad;
  return *this;
}

void Tensor::retain_grad() {
  RG_CHECK(requires_grad(), "retain_grad: tensor does not require grad, so it will get none");
  impl().retains_grad = true;
}

Tensor view_untracked(const Tensor& base, Shape shape, Strides strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

Tensor expand_untracked(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  const int64_t lead = static_cast<int64_t>(shape.size()) - t.dim();
  RG_CHECK(lead >= 0, "expand: cannot expand shape ", shape_str(t.shape()), " to fewer dims ", shape_str(shape));
  Strides strides(shape.size(), 0);
  for (int64_t i = 0; i < t.dim(); ++i) {
    const int64_t from = t.shape()[i], to = shape[lead + i];
    RG_CHECK(from == to || from == 1, "expand: cannot expand shape ", shape_str(t.shape()), " to ", shape_str(shape));
    strides[lead + i] = from == to ? t.strides()[i] : 0;
  }
  return view_untracked(t, shape, std::move(strides), t.offset());
}

Tensor contiguous_untracked(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  backend_for(t.device()).copy(t, out);
  return out;
}

}  // namespace rg
