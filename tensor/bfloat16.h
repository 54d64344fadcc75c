// bfloat16: the upper half of a float32 — its sign, its 8 exponent bits (so float32's range) and 7
// of its 23 mantissa bits (about 3 significant decimal digits). What a tensor of DType::BFloat16
// holds, two bytes an element: the format of mixed-precision training (Kalamkar et al. 2019,
// arXiv:1905.12322), of AVX512-BF16, AMX and the GPUs' tensor cores.
//
// From float32, rounded to nearest with ties to even, as PyTorch's c10::BFloat16, the AVX512-BF16
// instruction vcvtneps2bf16 and CUDA's __float2bfloat16 do: values beyond the largest finite
// bfloat16 (3.3895e38) round to infinity, subnormals stay subnormal (or round to zero), and every
// NaN becomes the quiet NaN 0x7FC0. To float32, exact: the 16 bits with 16 zero bits below them.
#pragma once

#include <cstdint>

#include "tensor/host_device.h"

namespace rg {

struct bfloat16 {
  uint16_t bits = 0;
};

RG_HOST_DEVICE inline bfloat16 to_bfloat16(float value) {
  uint32_t u = __builtin_bit_cast(uint32_t, value);
  if ((u & 0x7fffffffu) > 0x7f800000u) return {0x7fc0};  // a NaN (exponent all ones, mantissa not zero)
  // Adding 0x7fff rounds the 16 bits dropped to nearest; the kept half's lowest bit breaks a tie
  // (exactly 0x8000 dropped) toward even. A carry out of the mantissa moves the exponent up, as
  // it should: 1.99999 rounds to 2, the largest floats round to infinity.
  u += 0x7fffu + ((u >> 16) & 1u);
  return {uint16_t(u >> 16)};
}

RG_HOST_DEVICE inline float to_float(bfloat16 value) { return __builtin_bit_cast(float, uint32_t(value.bits) << 16); }

}  // namespace rg
