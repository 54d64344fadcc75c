#include "tensor/factory.h"

namespace rg {

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor zeros_like(const Tensor& like) { return zeros(like.shape(), like.dtype(), like.device()); }
Tensor ones_like(const Tensor& like) { return ones(like.shape(), like.dtype(), like.device()); }

Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype, Device device) {
  RG_CHECK(int64_t(values.size()) == numel(shape), "from_vector: ", values.size(), " values cannot fill shape ",
           shape_str(shape), " (", numel(shape), " elements)");
  Tensor host = Tensor::empty(shape, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = host.data<T>();
    for (size_t i = 0; i < values.size(); ++i) out[i] = convert<T>(values[i]);
  });
  return device.is_cpu() ? host : host.to(device);
}

Tensor arange(int64_t n, DType dtype, Device device) {
  std::vector<double> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = double(i);
  return from_vector(values, {n}, dtype, device);
}

}  // namespace rg
