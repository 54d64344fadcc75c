// DType: the element types a Tensor can hold, and the one place that maps them to C++ types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>

#include "tensor/error.h"

namespace rg {

enum class DType { Float32, Float64, UInt8, Int64 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::UInt8: return 1;
    case DType::Int64: return 8;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::UInt8: return "uint8";
    case DType::Int64: return "int64";
  }
  return "?";
}

inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

inline std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

template <typename T> struct Tag { using type = T; };

// The C++ type that stores a DType.
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::UInt8; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }

// Calls fn(Tag<T>{}) with T the C++ type of `t`. Kernels use it as
//   visit_dtype(t, [&](auto tag) { using T = typename decltype(tag)::type; ... });
template <typename Fn>
decltype(auto) visit_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn(Tag<float>{});
    case DType::Float64: return fn(Tag<double>{});
    case DType::UInt8: return fn(Tag<uint8_t>{});
    case DType::Int64: return fn(Tag<int64_t>{});
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
