#include "tensor/random.h"

#include <cmath>
#include <numbers>

#include "tensor/parallel.h"

namespace rg {

uint64_t Generator::bits(uint64_t counter) const {
  uint64_t z = seed_ * 0xD1B54A32D192ED03ull + counter * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

namespace {

// A uniform double in [0, 1) from the top 53 bits.
double unit(uint64_t bits) { return double(bits >> 11) * 0x1.0p-53; }

// Fills a new CPU tensor with value(i) for each i, in parallel, then moves it to `device`.
template <typename ValueOf>
Tensor generate(const Shape& shape, DType dtype, Device device, ValueOf&& value_of) {
  RG_CHECK(is_floating(dtype), "random tensors are float32 or float64, got ", dtype);
  Tensor host = Tensor::empty(shape, dtype);
  const int64_t n = host.numel();
  visit_floating(dtype, "random", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = host.data<T>();
    parallel_for(n, 65536, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = static_cast<T>(value_of(i));
    });
  });
  return device.is_cpu() ? host : host.to(device);
}

}  // namespace

Tensor rand(const Shape& shape, double low, double high, DType dtype, Device device, Generator& gen) {
  const uint64_t first = gen.advance(numel(shape));
  return generate(shape, dtype, device, [&](int64_t i) { return low + (high - low) * unit(gen.bits(first + i)); });
}

Tensor randn(const Shape& shape, double mean, double std, DType dtype, Device device, Generator& gen) {
  // Box-Muller: two uniforms per element (counters 2i and 2i+1) give one normal.
  const uint64_t first = gen.advance(2 * numel(shape));
  return generate(shape, dtype, device, [&](int64_t i) {
    const double u1 = 1.0 - unit(gen.bits(first + 2 * i));  // in (0, 1]: log is finite
    const double u2 = unit(gen.bits(first + 2 * i + 1));
    return mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  });
}

Tensor kaiming_normal(const Shape& shape, DType dtype, Device device, Generator& gen) {
  RG_CHECK(shape.size() >= 2, "kaiming_normal: expected a weight of shape [out, in, ...], got ", shape_str(shape));
  const int64_t fan_in = numel(shape) / shape[0];
  RG_CHECK(fan_in > 0, "kaiming_normal: fan_in is 0 for shape ", shape_str(shape));
  return randn(shape, 0.0, std::sqrt(2.0 / double(fan_in)), dtype, device, gen);
}

}  // namespace rg
