// The loops of tensor/cpu/vector_kernels.h. This file is compiled once per instruction-set level
// (tensor/CMakeLists.txt) with RG_ISA_NAMESPACE set to isa_baseline, isa_avx2 or isa_avx512 and
// that level's -m flags: the compiler vectorizes each loop for the level's width. Nothing but the
// table leaves the anonymous namespace (see vector_kernels.h), and nothing here may include code
// that is compiled differently elsewhere.
#include "tensor/cpu/vector_kernels.h"

#include "tensor/scalar_math.h"

#ifndef RG_ISA_NAMESPACE
#error "vector_kernels.cpp is compiled by tensor/CMakeLists.txt with RG_ISA_NAMESPACE and RG_ISA_NAME set"
#endif

namespace rg::cpu::RG_ISA_NAMESPACE {

namespace {

// sum over j < count of term(j), in double, eight lanes at a time. The lanes are explicit, so
// the order of the additions (and the result) is the same at every vector width.
template <typename Term>
double lane_sum(int64_t count, Term term) {
  double lanes[8] = {};
  int64_t j = 0;
  for (; j + 8 <= count; j += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += term(j + l);
  for (; j < count; ++j) lanes[0] += term(j);
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

template <typename T>
void unary(UnaryOp op, const T* __restrict x, T* __restrict out, int64_t count, T p0, T p1) {
  math::with_unary(op, [&](auto op_c) {
    constexpr UnaryOp Op = decltype(op_c)::value;
    for (int64_t j = 0; j < count; ++j) out[j] = math::unary<Op, T>(x[j], p0, p1);
  });
}

template <typename T>
void binary(BinaryOp op, const T* a, const T* b, bool b_scalar, T* out, int64_t count) {
  math::with_binary(op, [&](auto op_c) {
    constexpr BinaryOp Op = decltype(op_c)::value;
    if (b_scalar) {
      if (count == 0) return;  // b[0] need not exist then
      const T vb = b[0];
      for (int64_t j = 0; j < count; ++j) out[j] = math::binary<Op, T>(a[j], vb);
    } else {
      for (int64_t j = 0; j < count; ++j) out[j] = math::binary<Op, T>(a[j], b[j]);
    }
  });
}

template <typename T>
double sum(const T* x, int64_t count) {
  return lane_sum(count, [&](int64_t j) { return double(x[j]); });
}

template <typename T>
void shifted_sums(const T* x, int64_t count, double shift, double& s, double& sq) {
  s += lane_sum(count, [&](int64_t j) { return double(x[j]) - shift; });
  sq += lane_sum(count, [&](int64_t j) {
    const double d = double(x[j]) - shift;
    return d * d;
  });
}

template <typename T>
void affine(const T* __restrict x, T* __restrict out, int64_t count, T scale, T shift, bool relu) {
  if (relu) {
    for (int64_t j = 0; j < count; ++j) {
      const T v = x[j] * scale + shift;
      out[j] = v < T(0) ? T(0) : v;  // NaN passes through, as in relu() (a diverged run must show)
    }
  } else {
    for (int64_t j = 0; j < count; ++j) out[j] = x[j] * scale + shift;
  }
}

// Both values loaded, then selected: vector compares and masks instead of a branch per element
// (a ReLU's signs are random: that branch mispredicted often enough to triple the backward's time).
template <typename T>
void relu_mask(const T* __restrict y, const T* __restrict g, T* __restrict out, int64_t count) {
  for (int64_t j = 0; j < count; ++j) {
    const T yv = y[j], gv = g[j];
    out[j] = yv > T(0) ? gv : T(0);
  }
}

template <typename T>
void grad_sums(const T* g, const T* x, int64_t count, double mean, double& sum_g, double& sum_gd) {
  sum_g += lane_sum(count, [&](int64_t j) { return double(g[j]); });
  sum_gd += lane_sum(count, [&](int64_t j) { return double(g[j]) * (double(x[j]) - mean); });
}

template <typename T>
void grad_affine(const T* g, const T* x, T* out, int64_t count, T a, T b, T mean, T d) {
  for (int64_t j = 0; j < count; ++j) out[j] = a * g[j] + b * (x[j] - mean) + d;
}

template <typename T>
void update(const UpdateRule& rule, T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
            int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    math::optimizer_update(rule, p[i], g[i], m ? m + i : nullptr, v ? v + i : nullptr);
}

template <typename T>
void winograd_input(const T* d0, const T* d1, const T* d2, const T* d3, T* __restrict out0, T* __restrict out1,
                    T* __restrict out2, T* __restrict out3, int64_t count) {
  for (int64_t j = 0; j < count; ++j) {
    out0[j] = d0[j] - d2[j];
    out1[j] = d1[j] + d2[j];
    out2[j] = d2[j] - d1[j];
    out3[j] = d1[j] - d3[j];
  }
}

template <typename T>
void winograd_output(const T* m0, const T* m1, const T* m2, const T* m3, T* __restrict out0, T* __restrict out1,
                     int64_t count) {
  for (int64_t j = 0; j < count; ++j) {
    out0[j] = m0[j] + m1[j] + m2[j];
    out1[j] = m1[j] - m2[j] - m3[j];
  }
}

template <typename T>
constexpr VectorOps<T> ops() {
  return {.unary = unary<T>,
          .binary = binary<T>,
          .sum = sum<T>,
          .shifted_sums = shifted_sums<T>,
          .affine = affine<T>,
          .relu_mask = relu_mask<T>,
          .grad_sums = grad_sums<T>,
          .grad_affine = grad_affine<T>,
          .update = update<T>,
          .winograd_input = winograd_input<T>,
          .winograd_output = winograd_output<T>};
}

constexpr VectorKernels kTable{.isa = RG_ISA_NAME, .f32 = ops<float>(), .f64 = ops<double>()};

}  // namespace

const VectorKernels& table() { return kTable; }

}  // namespace rg::cpu::RG_ISA_NAMESPACE
