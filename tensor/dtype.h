// DType: the element types a Tensor can hold, and the one place that maps them to C++ types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

#include "tensor/bfloat16.h"
#include "tensor/error.h"

namespace rg {

// BFloat16: storage and conversion (tensor/bfloat16.h); the math kernels take float32 and float64.
enum class DType { Float32, Float64, UInt8, Int64, BFloat16 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::UInt8: return 1;
    case DType::Int64: return 8;
    case DType::BFloat16: return 2;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::UInt8: return "uint8";
    case DType::Int64: return "int64";
    case DType::BFloat16: return "bfloat16";
  }
  return "?";
}

// The DType named by dtype_name ("bfloat16"), or an rg::Error naming the choices.
inline DType dtype_from_name(std::string_view name) {
  constexpr DType kAll[] = {DType::Float32, DType::Float64, DType::UInt8, DType::Int64, DType::BFloat16};
  std::string choices;
  for (DType t : kAll) {
    if (name == dtype_name(t)) return t;
    choices += std::string(choices.empty() ? "" : t == DType::BFloat16 ? " or " : ", ") + dtype_name(t);
  }
  throw Error(detail::concat("unknown dtype '", name, "' (expected ", choices, ")"));
}

inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64 || t == DType::BFloat16; }

inline std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

template <typename T>
struct Tag {
  using type = T;
};

// One element converted to T, the same on every device. A floating value to an integer type is
// truncated toward zero and saturates at the type's range, NaN giving 0 (C++ leaves the
// out-of-range cases undefined, and machines differ: x86 keeps the low bits, a GPU clamps). All
// else is C++'s conversion (an integer to a narrower one wraps). To and from bfloat16 through
// float32, as PyTorch does (tensor/bfloat16.h; from float64 that rounds twice, so a float64 just
// beside a bfloat16 tie can land one bfloat16 step from the nearest).
// An integer type's values, and the floats from which a conversion to it saturates.
template <typename T>
struct IntegerRange {
  static constexpr bool is_signed = T(-1) < T(0);
  static constexpr int value_bits = int(sizeof(T)) * 8 - (is_signed ? 1 : 0);
  static constexpr T max = is_signed ? T((uint64_t(1) << value_bits) - 1) : T(~T(0));
  static constexpr T min = is_signed ? T(-max - 1) : T(0);
  static constexpr double above = double(uint64_t(1) << (value_bits - 1)) * 2;  // 2^value_bits
  static constexpr double below = is_signed ? -above : 0;
};

template <typename T, typename S>
RG_HOST_DEVICE inline T convert(S v) {
  if constexpr (std::is_same_v<S, bfloat16>) {
    return convert<T>(to_float(v));
  } else if constexpr (std::is_same_v<T, bfloat16>) {
    return to_bfloat16(convert<float>(v));
  } else {
    if constexpr (std::is_floating_point_v<S> && std::is_integral_v<T>) {
      using Range = IntegerRange<T>;
      if (v != v) return T(0);
      if (v <= S(Range::below)) return Range::min;
      if (v >= S(Range::above)) return Range::max;
    }
    return static_cast<T>(v);
  }
}

// The C++ type that stores a DType.
template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::Float32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::Float64;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::UInt8;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::Int64;
}
template <>
constexpr DType dtype_of<bfloat16>() {
  return DType::BFloat16;
}

// Calls fn(Tag<T>{}) with T the C++ type of `t`. Kernels use it as
//   visit_dtype(t, [&](auto tag) { using T = typename decltype(tag)::type; ... });
template <typename Fn>
decltype(auto) visit_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn(Tag<float>{});
    case DType::Float64: return fn(Tag<double>{});
    case DType::UInt8: return fn(Tag<uint8_t>{});
    case DType::Int64: return fn(Tag<int64_t>{});
    case DType::BFloat16: return fn(Tag<bfloat16>{});
  }
  throw Error("visit_dtype: unknown dtype");
}

// Same, for the math kernels that only exist for float32 and float64.
template <typename Fn>
decltype(auto) visit_floating(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn(Tag<float>{});
    case DType::Float64: return fn(Tag<double>{});
    default: break;
  }
  throw Error(detail::concat(op, ": expected a float32 or float64 tensor, got ", dtype_name(t)));
}

}  // namespace rg
