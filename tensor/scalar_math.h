// The math of every elementwise op, for one element. Shared word for word by the CPU reference,
// the CPU fast path and the CUDA kernels, so the three can only differ in how they loop.
#pragma once

#include <math.h>

#include <type_traits>

#include "tensor/backend.h"

// Every function here is RG_HOST_DEVICE (tensor/dtype.h): compiled for the GPU too, and always
// inlined into its caller.

namespace rg::math {

RG_HOST_DEVICE inline float exp_(float x) { return expf(x); }
RG_HOST_DEVICE inline double exp_(double x) { return exp(x); }
RG_HOST_DEVICE inline float log_(float x) { return logf(x); }
RG_HOST_DEVICE inline double log_(double x) { return log(x); }
RG_HOST_DEVICE inline float sqrt_(float x) { return sqrtf(x); }
RG_HOST_DEVICE inline double sqrt_(double x) { return sqrt(x); }
RG_HOST_DEVICE inline float pow_(float x, float p) { return powf(x, p); }
RG_HOST_DEVICE inline double pow_(double x, double p) { return pow(x, p); }

// sigmoid(x) = 1 / (1 + e^-x), written so that e^(something positive) never overflows.
template <typename T>
RG_HOST_DEVICE inline T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + exp_(-x));
  const T e = exp_(x);
  return e / (T(1) + e);
}

template <UnaryOp Op, typename T>
RG_HOST_DEVICE inline T unary(T x, T p0, T p1) {
  if constexpr (Op == UnaryOp::Neg)
    return -x;
  else if constexpr (Op == UnaryOp::Exp)
    return exp_(x);
  else if constexpr (Op == UnaryOp::Log)
    return log_(x);
  else if constexpr (Op == UnaryOp::Sqrt)
    return sqrt_(x);
  else if constexpr (Op == UnaryOp::Relu)
    return x < T(0) ? T(0) : x;  // NaN passes through, as in PyTorch
  else if constexpr (Op == UnaryOp::Sigmoid)
    return sigmoid(x);
  else if constexpr (Op == UnaryOp::Silu)
    return x * sigmoid(x);
  else if constexpr (Op == UnaryOp::Pow)
    return pow_(x, p0);
  else
    return x < p0 ? p0 : (x > p1 ? p1 : x);  // Clamp (NaN passes through)
}

template <BinaryOp Op, typename T>
RG_HOST_DEVICE inline T binary(T a, T b) {
  if constexpr (Op == BinaryOp::Add)
    return a + b;
  else if constexpr (Op == BinaryOp::Sub)
    return a - b;
  else if constexpr (Op == BinaryOp::Mul)
    return a * b;
  else if constexpr (Op == BinaryOp::Div)
    return a / b;
  else if constexpr (Op == BinaryOp::Eq)
    return a == b ? T(1) : T(0);
  else if constexpr (Op == BinaryOp::Gt)
    return a > b ? T(1) : T(0);
  else if constexpr (Op == BinaryOp::Ge)
    return a >= b ? T(1) : T(0);
  else if constexpr (Op == BinaryOp::Lt)
    return a < b ? T(1) : T(0);
  else
    return a <= b ? T(1) : T(0);  // Le
}

// Turns a runtime op into a compile-time one: fn(std::integral_constant<UnaryOp, op>{}).
template <typename Fn>
RG_ALWAYS_INLINE inline void with_unary(UnaryOp op, Fn&& fn) {
  using U = UnaryOp;
  switch (op) {
    case U::Neg: return fn(std::integral_constant<U, U::Neg>{});
    case U::Exp: return fn(std::integral_constant<U, U::Exp>{});
    case U::Log: return fn(std::integral_constant<U, U::Log>{});
    case U::Sqrt: return fn(std::integral_constant<U, U::Sqrt>{});
    case U::Relu: return fn(std::integral_constant<U, U::Relu>{});
    case U::Sigmoid: return fn(std::integral_constant<U, U::Sigmoid>{});
    case U::Silu: return fn(std::integral_constant<U, U::Silu>{});
    case U::Pow: return fn(std::integral_constant<U, U::Pow>{});
    case U::Clamp: return fn(std::integral_constant<U, U::Clamp>{});
  }
}

template <typename Fn>
RG_ALWAYS_INLINE inline void with_binary(BinaryOp op, Fn&& fn) {
  using B = BinaryOp;
  switch (op) {
    case B::Add: return fn(std::integral_constant<B, B::Add>{});
    case B::Sub: return fn(std::integral_constant<B, B::Sub>{});
    case B::Mul: return fn(std::integral_constant<B, B::Mul>{});
    case B::Div: return fn(std::integral_constant<B, B::Div>{});
    case B::Eq: return fn(std::integral_constant<B, B::Eq>{});
    case B::Gt: return fn(std::integral_constant<B, B::Gt>{});
    case B::Ge: return fn(std::integral_constant<B, B::Ge>{});
    case B::Lt: return fn(std::integral_constant<B, B::Lt>{});
    case B::Le: return fn(std::integral_constant<B, B::Le>{});
  }
}

// One element of an optimizer step (UpdateRule, tensor/backend.h), in T as PyTorch does it:
//   g' = g + weight_decay * p
//   SGD:  m = momentum * m + g';  p -= lr * m            (without momentum: p -= lr * g')
//   Adam: m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;  p -= lr (m / bias1) / (sqrt(v / bias2) + eps)
template <typename T>
RG_HOST_DEVICE inline void optimizer_update(const UpdateRule& r, T& p, T g, T* m, T* v) {
  if (r.weight_decay != 0) g = g + T(r.weight_decay) * p;
  if (r.kind == UpdateRule::Kind::Sgd) {
    if (r.momentum != 0) {
      *m = T(r.momentum) * *m + g;
      g = *m;
    }
    p = p - T(r.lr) * g;
    return;
  }
  *m = T(r.beta1) * *m + T(1 - r.beta1) * g;
  *v = T(r.beta2) * *v + T(1 - r.beta2) * g * g;
  p = p - T(r.lr) * ((*m / T(r.bias1)) / (sqrt_(*v / T(r.bias2)) + T(r.eps)));
}

}  // namespace rg::math
