// The hot inner loops of the fast CPU kernels, over plain contiguous arrays, one table per
// instruction-set level (tensor/cpu/isa.h):
//
//   vector_ops<T>().affine(in, out, count, scale, shift, relu);
//
// The kernels that walk tensors (tensor/cpu/cpu_backend.cpp, layers/cpu/batch_norm.cpp) stay
// compiled once; they call these for each contiguous run. vector_kernels.cpp holds the loops and
// is compiled once per level, into the namespaces isa_baseline, isa_avx2 and isa_avx512. Every
// function of that file is in an anonymous namespace but the table, so no inline function built
// for AVX-512 can stand in for a baseline one at link time (the test isa_symbols checks this).
// Each loop gives the same bits at every level (see isa.h).
#pragma once

#include <cstdint>

#include "tensor/backend.h"
#include "tensor/cpu/isa.h"

namespace rg::cpu {

template <typename T>
struct VectorOps {
  // out[j] = op(x[j]) for j < count (p0, p1 as in Backend::unary).
  void (*unary)(UnaryOp op, const T* x, T* out, int64_t count, T p0, T p1);
  // out[j] = a[j] op b[j]; with b_scalar, out[j] = a[j] op b[0].
  void (*binary)(BinaryOp op, const T* a, const T* b, bool b_scalar, T* out, int64_t count);
  // The sum of x[0..count), in double over eight lanes.
  double (*sum)(const T* x, int64_t count);
  // sum += sum of (x[j] - shift), sq += sum of (x[j] - shift)^2, in double over eight lanes.
  void (*shifted_sums)(const T* x, int64_t count, double shift, double& sum, double& sq);
  // out[j] = x[j] * scale + shift, then max(0, .) with relu (NaN passes through).
  void (*affine)(const T* x, T* out, int64_t count, T scale, T shift, bool relu);
  // out[j] = y[j] > 0 ? g[j] : 0 (the ReLU's backward).
  void (*relu_mask)(const T* y, const T* g, T* out, int64_t count);
  // sum_g += sum of g[j], sum_gd += sum of g[j] * (x[j] - mean), in double over eight lanes.
  void (*grad_sums)(const T* g, const T* x, int64_t count, double mean, double& sum_g, double& sum_gd);
  // out[j] = a * g[j] + b * (x[j] - mean) + d (batch norm's input gradient; out may be g).
  void (*grad_affine)(const T* g, const T* x, T* out, int64_t count, T a, T b, T mean, T d);
  // One optimizer step over count elements (Backend::update; m and v null where unused).
  void (*update)(const UpdateRule& rule, T* p, const T* g, T* m, T* v, int64_t count);
  // Winograd F(2x2, 3x3)'s transforms (layers/cpu/conv_winograd.cpp), one row of a 4x4 tile's
  // four at a time, elementwise over count tiles:
  //   input, B^T:  out0 = d0 - d2, out1 = d1 + d2, out2 = d2 - d1, out3 = d1 - d3
  //   output, A^T: out0 = m0 + m1 + m2, out1 = m1 - m2 - m3
  void (*winograd_input)(const T* d0, const T* d1, const T* d2, const T* d3, T* out0, T* out1, T* out2, T* out3,
                         int64_t count);
  void (*winograd_output)(const T* m0, const T* m1, const T* m2, const T* m3, T* out0, T* out1, int64_t count);
};

struct VectorKernels {
  const char* isa;
  VectorOps<float> f32;
  VectorOps<double> f64;
};

// The active level's table (active_isa()).
const VectorKernels& vector_kernels();
// One level's table (an rg::Error when this build lacks it; for tests and benchmarks).
const VectorKernels& vector_kernels_at(Isa isa);

template <typename T>
const VectorOps<T>& vector_ops() {
  if constexpr (sizeof(T) == 4)
    return vector_kernels().f32;
  else
    return vector_kernels().f64;
}

// Each level's table, isa_<name>::table(), defined by vector_kernels.cpp; the x86 ones exist only
// in x86 builds.
#define RG_ISA_LEVEL(enumerator, name, x86_only, flags) \
  namespace isa_##name {                                \
    const VectorKernels& table();                       \
  }
#include "tensor/cpu/isa_levels.def"
#undef RG_ISA_LEVEL

}  // namespace rg::cpu
