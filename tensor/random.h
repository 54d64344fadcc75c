// Seeded random numbers that are the same on every run, for every thread count and device.
//
// The i-th number a Generator draws is a hash of (seed, i) — a counter-based generator in the
// style of Philox — so each element can be computed independently and in parallel, and the
// result never depends on how the work was split. Random tensors are drawn on the CPU and copied
// to the target device, so a CUDA tensor holds exactly the values of its CPU twin.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace rg {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  void manual_seed(uint64_t seed) {
    seed_ = seed;
    counter_ = 0;
  }
  uint64_t seed() const { return seed_; }
  // The number of values drawn so far; with the seed, the whole state (for checkpoints).
  uint64_t counter() const { return counter_; }
  void set_state(uint64_t seed, uint64_t counter) {
    seed_ = seed;
    counter_ = counter;
  }

  // Reserves `n` consecutive counters and returns the first: draw k of them is bits(first + k).
  uint64_t advance(uint64_t n) {
    const uint64_t first = counter_;
    counter_ += n;
    return first;
  }
  // 64 well-mixed bits for counter value `counter` (SplitMix64's finalizer over seed and counter).
  uint64_t bits(uint64_t counter) const;

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
};

// The generator used when none is given; seed it with manual_seed() for a reproducible run.
Generator& default_generator();
void manual_seed(uint64_t seed);

// Uniform on [low, high).
Tensor rand(const Shape& shape, double low = 0.0, double high = 1.0, DType dtype = DType::Float32,
            Device device = Device::cpu(), Generator& gen = default_generator());
// Normal with the given mean and standard deviation (Box-Muller).
Tensor randn(const Shape& shape, double mean = 0.0, double std = 1.0, DType dtype = DType::Float32,
             Device device = Device::cpu(), Generator& gen = default_generator());
// He/Kaiming normal init for a weight of shape [out, in, kh, kw...]: std = sqrt(2 / fan_in),
// fan_in = in * kh * kw... (PyTorch's kaiming_normal_ with its defaults, as torchvision's
// DenseNet uses for its convolutions).
Tensor kaiming_normal(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu(),
                      Generator& gen = default_generator());

}  // namespace rg
