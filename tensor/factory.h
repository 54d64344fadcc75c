// Making tensors: filled with a value, from C++ values, or counting up.
// (Random tensors are in tensor/random.h.)
#pragma once

#include <initializer_list>
#include <vector>

#include "tensor/tensor.h"

namespace rg {

Tensor full(const Shape& shape, double value, DType dtype = DType::Float32, Device device = Device::cpu());
inline Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu()) {
  return full(shape, 0.0, dtype, device);
}
inline Tensor ones(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu()) {
  return full(shape, 1.0, dtype, device);
}
// A 0-d tensor holding `value`.
inline Tensor scalar(double value, DType dtype = DType::Float32, Device device = Device::cpu()) {
  return full({}, value, dtype, device);
}
// Same shape, dtype and device as `like`.
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);

// A tensor of `shape` holding `values` in row-major order (converted to `dtype`).
Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::Float32,
                   Device device = Device::cpu());
// 0, 1, ..., n-1
Tensor arange(int64_t n, DType dtype = DType::Float32, Device device = Device::cpu());

}  // namespace rg
