// The direct convolution: one GEMM per kernel position over a padded copy of the input
// (conv_algorithms.h).
#include <cstring>

#include "layers/cpu/conv_algorithms.h"
#include "layers/cpu/cpu_kernels.h"
#include "tensor/cpu/gemm.h"

namespace rg::cpu {

namespace {

constexpr int64_t kGroupColumns = 4096;  // about this many padded positions per GEMM

// The shape of one group's padded copy P [C, ld]: `count` samples of Hp x Wp side by side, then
// zeros up to ld, so that the view shifted by the farthest kernel position stays inside its row.
struct Padded {
  int64_t hp, wp, count, n, ld;  // n = count*Hp*Wp columns of output positions
  int64_t shift(const WindowGeometry& g, int64_t p, int64_t q) const { return p * g.dh * wp + q * g.dw; }
};

Padded padded_shape(const WindowGeometry& g, int64_t count) {
  Padded s{g.h + 2 * g.ph, g.w + 2 * g.pw, count, 0, 0};
  s.n = count * s.hp * s.wp;
  s.ld = s.n + s.shift(g, g.kh - 1, g.kw - 1);
  return s;
}

int64_t group_size(const WindowGeometry& g) {
  return samples_per_group(kGroupColumns, (g.h + 2 * g.ph) * (g.w + 2 * g.pw), g.n);
}

// P[c, k*Hp*Wp + (y + ph)*Wp + (x + pw)] = x_k[c, y, x], zeros around and after.
template <typename T>
void pad_group(const T* x, int64_t x_stride, const WindowGeometry& g, const Padded& s, T* p) {
  parallel_for(g.c, grain_for(s.ld), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      T* row = p + c * s.ld;
      std::fill(row, row + s.ld, T(0));
      for (int64_t k = 0; k < s.count; ++k)
        for (int64_t i = 0; i < g.h; ++i)
          std::memcpy(row + k * s.hp * s.wp + (i + g.ph) * s.wp + g.pw, x + k * x_stride + (c * g.h + i) * g.w,
                      size_t(g.w) * sizeof(T));
    }
  });
}

// w [O, C, KH, KW] -> [KH*KW, O, C]: one [O, C] matrix per kernel position.
template <typename T>
const T* positions_first(const T* w, const WindowGeometry& g) {
  const int64_t kk = g.kh * g.kw;
  T* out = scratch<T>(Scratch::Filters, kk * g.o * g.c);
  for (int64_t o = 0; o < g.o; ++o)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t r = 0; r < kk; ++r) out[(r * g.o + o) * g.c + c] = w[(o * g.c + c) * kk + r];
  return out;
}

template <typename T>
void forward(const T* x, int64_t x_stride, const T* w, T* y, const WindowGeometry& g) {
  const T* wr = positions_first(w, g);
  const int64_t group = group_size(g), s = g.oh * g.ow;
  for (int64_t n0 = 0; n0 < g.n; n0 += group) {
    const Padded ps = padded_shape(g, std::min(group, g.n - n0));
    T* p = scratch<T>(Scratch::Working, g.c * ps.ld + g.o * ps.n);
    T* out = p + g.c * ps.ld;  // [O, n]: every padded position, the valid ones copied to y below
    pad_group(x + n0 * x_stride, x_stride, g, ps, p);
    for (int64_t kp = 0; kp < g.kh; ++kp)
      for (int64_t kq = 0; kq < g.kw; ++kq) {
        const int64_t r = kp * g.kw + kq;
        gemm<T>(false, false, g.o, ps.n, g.c, T(1), wr + r * g.o * g.c, g.c, p + ps.shift(g, kp, kq), ps.ld,
                T(r == 0 ? 0 : 1), out, ps.n);
      }
    parallel_for(ps.count * g.o, grain_for(s), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {  // b = k*O + o: sample k's output plane o
        const int64_t k = b / g.o, o = b % g.o;
        const T* from = out + o * ps.n + k * ps.hp * ps.wp;
        T* to = y + (n0 + k) * g.o * s + o * s;
        for (int64_t i = 0; i < g.oh; ++i) std::memcpy(to + i * g.ow, from + i * ps.wp, size_t(g.ow) * sizeof(T));
      }
    });
  }
}

// gw[o, c, p, q] = sum over samples and output positions of gy[o, i, j] * P[c, position + shift(p, q)].
// Shifting gy instead of P makes it one GEMM: Gs [KH*KW*O, ld] holds, in row (r, o), gy's plane o
// laid out on the padded positions and moved right by kernel position r's shift (zeros elsewhere;
// KH*KW*O = 288 rows for DenseNet's 3x3, im2col's columns would have C*KH*KW = 1152), and
//   acc [C, KH*KW*O] = P [C, ld] @ Gs^T.
template <typename T>
void backward_filter(const T* x, int64_t x_stride, const T* gy, int64_t gy_stride, T* gw, const WindowGeometry& g) {
  const int64_t group = group_size(g), s = g.oh * g.ow, kk = g.kh * g.kw, rows = kk * g.o;
  T* acc = scratch<T>(Scratch::Filters, g.c * rows);  // [C, KH*KW, O]
  for (int64_t n0 = 0; n0 < g.n; n0 += group) {
    const Padded ps = padded_shape(g, std::min(group, g.n - n0));
    T* p = scratch<T>(Scratch::Working, (g.c + rows) * ps.ld);
    T* gs = p + g.c * ps.ld;
    pad_group(x + n0 * x_stride, x_stride, g, ps, p);
    parallel_for(rows, grain_for(ps.ld), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {  // b = r*O + o
        const int64_t r = b / g.o, o = b % g.o;
        T* row = gs + b * ps.ld;
        std::fill(row, row + ps.ld, T(0));
        T* at = row + ps.shift(g, r / g.kw, r % g.kw);
        for (int64_t k = 0; k < ps.count; ++k)
          for (int64_t i = 0; i < g.oh; ++i)
            std::memcpy(at + k * ps.hp * ps.wp + i * ps.wp, gy + (n0 + k) * gy_stride + o * s + i * g.ow,
                        size_t(g.ow) * sizeof(T));
      }
    });
    gemm<T>(false, true, g.c, rows, ps.ld, T(1), p, ps.ld, gs, ps.ld, T(n0 == 0 ? 0 : 1), acc, rows);
  }
  for (int64_t o = 0; o < g.o; ++o)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t r = 0; r < kk; ++r) gw[(o * g.c + c) * kk + r] = acc[c * rows + r * g.o + o];
}

// The stride-1 convolutions that are not a plain GEMM already (1x1 unpadded).
bool applies(const WindowGeometry& g, ConvPass pass) {
  const bool stride_1 = g.sh == 1 && g.sw == 1 && !is_pointwise(g);
  return stride_1 && (pass != ConvPass::BackwardData || can_backward_data_by_conv(g));
}

}  // namespace

template <typename T>
ConvAlgorithm<T> direct_algorithm() {
  return {.name = "direct",
          .applies = applies,
          .forward = forward<T>,
          .backward_data = backward_data_as_conv<T, forward<T>>,
          .backward_filter = backward_filter<T>};
}
template ConvAlgorithm<float> direct_algorithm<float>();
template ConvAlgorithm<double> direct_algorithm<double>();

}  // namespace rg::cpu
