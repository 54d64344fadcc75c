// Tensor: a view — shape, strides and an offset — onto a shared Storage of one dtype on one device.
//
// Copying a Tensor copies a handle (like std::shared_ptr): both handles name the same data.
// Views (slices, transposes, reshapes of contiguous data) share storage and cost nothing.
//
// Member functions never record autograd history: they read metadata, give raw data access, or
// make detached copies (`to`, `detach`). The differentiable math — add, matmul, reshape, slice,
// ... — is in autograd/ops.h as free functions. The autograd fields (requires_grad, grad,
// grad_fn) live here because every tensor carries them; autograd/ gives them meaning.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/error.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace rg {

namespace autograd {
struct Node;
}

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;  // in elements, from the start of storage
  DType dtype = DType::Float32;

  // Autograd state (see autograd/engine.h).
  bool requires_grad = false;
  bool retains_grad = false;                // keep .grad on a non-leaf tensor
  std::shared_ptr<TensorImpl> grad;         // accumulated gradient, same shape
  std::shared_ptr<autograd::Node> grad_fn;  // the op that made this tensor; null for leaves
  std::function<void()> grad_hook;          // called each time backward() adds into grad
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // A new contiguous tensor with uninitialized values.
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Strides& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;  // d may be negative: -1 is the last dim
  int64_t numel() const { return rg::numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }

  // Pointer to the first element (a device pointer for CUDA tensors). Checks that T matches.
  template <typename T>
  T* data() const {
    RG_CHECK(dtype_of<T>() == dtype(), "Tensor::data: tensor holds ", dtype(), ", asked for ", dtype_of<T>());
    return static_cast<T*>(storage()->data()) + offset();
  }
  void* data_ptr() const { return static_cast<char*>(storage()->data()) + offset() * int64_t(dtype_size(dtype())); }

  // The single value of a one-element tensor, converted to T (copies from the GPU if needed).
  template <typename T = double>
  T item() const;
  // All values in row-major order, converted to T (any layout, any device).
  template <typename T>
  std::vector<T> to_vector() const;

  // Detached copies: new leaf tensors that are not part of any autograd graph.
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor detach() const;  // shares storage, drops the history

  // In-place write: this = src (broadcast to this shape, converted to this dtype, any device).
  // Not recorded by autograd.
  Tensor& copy_(const Tensor& src);
  Tensor& fill_(double value);

  // Autograd fields.
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& set_requires_grad(bool requires_grad);  // leaves only
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl().grad_fn; }
  Tensor grad() const { return Tensor(impl().grad); }  // undefined until backward() fills it
  void set_grad(const Tensor& grad) { impl().grad = grad.impl_; }
  void zero_grad() { impl().grad.reset(); }
  // hook() runs each time backward() adds into this tensor's grad (nullptr: none). The gradient
  // reducer (train/data_parallel.h) starts a bucket's allreduce from its parameters' hooks.
  void set_grad_hook(std::function<void()> hook) { impl().grad_hook = std::move(hook); }
  void retain_grad();  // ask backward() to keep this non-leaf tensor's gradient

  TensorImpl& impl() const {
    RG_CHECK(impl_ != nullptr, "use of an undefined Tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// The three raw shape operations. "untracked": autograd does not record them; autograd/ops.h has
// the recorded view, expand and contiguous built on them.

// A view sharing `base`'s storage with the given geometry. No checks: this is the building block
// of the differentiable views in autograd/ops.h and of broadcasting in kernels.
Tensor view_untracked(const Tensor& base, Shape shape, Strides strides, int64_t offset);

// `t` seen with shape `shape` by giving broadcast dims stride 0 (no copy).
Tensor expand_untracked(const Tensor& t, const Shape& shape);

// `t` itself when contiguous, otherwise a contiguous copy.
Tensor contiguous_untracked(const Tensor& t);

// dtype, shape, device and values; large tensors are elided like NumPy does.
std::ostream& operator<<(std::ostream& os, const Tensor& t);

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = contiguous_untracked(device().is_cpu() ? *this : to(Device::cpu()));
  std::vector<T> out(numel());
  visit_dtype(dtype(), [&](auto tag) {
    using S = typename decltype(tag)::type;
    const S* src = host.template data<S>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = convert<T>(src[i]);
  });
  return out;
}

template <typename T>
T Tensor::item() const {
  RG_CHECK(numel() == 1, "Tensor::item: expected a tensor with one element, got shape ", shape_str(shape()));
  return to_vector<T>()[0];
}

}  // namespace rg
