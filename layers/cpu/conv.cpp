// Convolution on the CPU, the fast path: GEMM on OpenBLAS. Per sample n (W viewed as a
// [O, C*KH*KW] matrix):
//   cols = im2col(x[n])            [C*KH*KW, OH*OW]   (for a 1x1, stride-1, unpadded conv: x[n] itself)
//   y[n] = W @ cols                [O, OH*OW]
//   backward:  gW += gy[n] @ cols^T,   gcols = W^T @ gy[n],   gx[n] = col2im(gcols)
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "layers/cpu/cpu_kernels.h"

namespace rg::cpu {

namespace {

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc) {
  const auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

bool is_pointwise(const WindowGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

// The output columns j whose input column j*sw + offset falls inside [0, w): [lo, hi).
struct ColumnRange {
  int64_t lo, hi;
};
ColumnRange inside_columns(int64_t offset, int64_t sw, int64_t w, int64_t ow) {
  // j*sw + offset >= 0  <=>  j >= ceil(-offset / sw);   j*sw + offset <= w - 1  <=>  j <= floor((w - 1 - offset) / sw)
  const int64_t lo = offset >= 0 ? 0 : (-offset + sw - 1) / sw;
  const int64_t hi = w - 1 - offset < 0 ? 0 : (w - 1 - offset) / sw + 1;
  return {std::min(lo, ow), std::clamp(hi, std::min(lo, ow), ow)};
}

// cols[(c, p, q), (i, j)] = x[c, i*sh + p*dh - ph, j*sw + q*dw - pw], 0 outside.
// Per row, the columns that read inside the image are one run: copied (memcpy when sw = 1),
// the padding on either side zero-filled — no bounds test per element.
template <typename T>
void im2col(const T* x, T* cols, const WindowGeometry& g) {
#pragma omp parallel for collapse(2) if (g.c * g.kh * g.kw * g.oh * g.ow > 65536)
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t p = 0; p < g.kh; ++p)
      for (int64_t q = 0; q < g.kw; ++q) {
        T* row = cols + ((c * g.kh + p) * g.kw + q) * g.oh * g.ow;
        const int64_t offset = q * g.dw - g.pw;
        const ColumnRange in = inside_columns(offset, g.sw, g.w, g.ow);
        for (int64_t i = 0; i < g.oh; ++i) {
          const int64_t y = i * g.sh + p * g.dh - g.ph;
          T* out = row + i * g.ow;
          if (y < 0 || y >= g.h) {
            std::fill(out, out + g.ow, T(0));
            continue;
          }
          const T* in_row = x + (c * g.h + y) * g.w;
          std::fill(out, out + in.lo, T(0));
          if (g.sw == 1) {
            if (in.hi > in.lo) std::memcpy(out + in.lo, in_row + in.lo + offset, size_t(in.hi - in.lo) * sizeof(T));
          } else {
            for (int64_t j = in.lo; j < in.hi; ++j) out[j] = in_row[j * g.sw + offset];
          }
          std::fill(out + in.hi, out + g.ow, T(0));
        }
      }
}

// The adjoint of im2col: gx[c, y, x] += gcols[(c, p, q), (i, j)] for every (p, q, i, j) that read it.
template <typename T>
void col2im(const T* cols, T* gx, const WindowGeometry& g) {
  std::fill(gx, gx + g.c * g.h * g.w, T(0));
#pragma omp parallel for if (g.c * g.kh * g.kw * g.oh * g.ow > 65536)
  for (int64_t c = 0; c < g.c; ++c)  // each thread owns whole channels: no two write one element
    for (int64_t p = 0; p < g.kh; ++p)
      for (int64_t q = 0; q < g.kw; ++q) {
        const T* row = cols + ((c * g.kh + p) * g.kw + q) * g.oh * g.ow;
        const int64_t offset = q * g.dw - g.pw;
        const ColumnRange in = inside_columns(offset, g.sw, g.w, g.ow);
        for (int64_t i = 0; i < g.oh; ++i) {
          const int64_t y = i * g.sh + p * g.dh - g.ph;
          if (y < 0 || y >= g.h) continue;
          T* out = gx + (c * g.h + y) * g.w;
          const T* src = row + i * g.ow;
          for (int64_t j = in.lo; j < in.hi; ++j) out[j * g.sw + offset] += src[j];
        }
      }
}

template <typename T>
void forward_fast(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const WindowGeometry& g) {
  const int64_t k = g.c * g.kh * g.kw, spatial = g.oh * g.ow;
  std::vector<T> cols(is_pointwise(g) ? 0 : size_t(k * spatial));
  const T* w = weight.data<T>();
  for (int64_t n = 0; n < g.n; ++n) {
    const T* xn = x.data<T>() + n * sample_stride(x);
    T* yn = y.data<T>() + n * g.o * spatial;
    const T* b = xn;
    if (!is_pointwise(g)) {
      im2col(xn, cols.data(), g);
      b = cols.data();
    }
    gemm<T>(false, false, g.o, spatial, k, T(1), w, k, b, spatial, T(0), yn, spatial);
    if (bias.defined()) {
      const T* pb = bias.data<T>();
      for (int64_t o = 0; o < g.o; ++o)
        for (int64_t s = 0; s < spatial; ++s) yn[o * spatial + s] += pb[o];
    }
  }
}

template <typename T>
void backward_data_fast(const Tensor& weight, const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  const int64_t k = g.c * g.kh * g.kw, spatial = g.oh * g.ow;
  const bool pointwise = is_pointwise(g);
  std::vector<T> gcols(pointwise ? 0 : size_t(k * spatial));
  const T* w = weight.data<T>();
  for (int64_t n = 0; n < g.n; ++n) {
    const T* gyn = gy.data<T>() + n * sample_stride(gy);
    T* gxn = gx.data<T>() + n * g.c * g.h * g.w;
    if (pointwise) {
      gemm<T>(true, false, k, spatial, g.o, T(1), w, k, gyn, spatial, T(0), gxn, spatial);
    } else {
      gemm<T>(true, false, k, spatial, g.o, T(1), w, k, gyn, spatial, T(0), gcols.data(), spatial);
      col2im(gcols.data(), gxn, g);
    }
  }
}

template <typename T>
void backward_filter_fast(const Tensor& x, const Tensor& gy, Tensor& gw, Tensor* gb, const WindowGeometry& g) {
  const int64_t k = g.c * g.kh * g.kw, spatial = g.oh * g.ow;
  const bool pointwise = is_pointwise(g);
  std::vector<T> cols(pointwise ? 0 : size_t(k * spatial));
  gw.fill_(0.0);
  for (int64_t n = 0; n < g.n; ++n) {
    const T* xn = x.data<T>() + n * sample_stride(x);
    const T* gyn = gy.data<T>() + n * sample_stride(gy);
    const T* b = xn;
    if (!pointwise) {
      im2col(xn, cols.data(), g);
      b = cols.data();
    }
    gemm<T>(false, true, g.o, k, spatial, T(1), gyn, spatial, b, spatial, T(1), gw.data<T>(), k);
  }
  if (gb) {
    T* pb = gb->data<T>();
#pragma omp parallel for
    for (int64_t o = 0; o < g.o; ++o) {
      double acc = 0;
      for (int64_t n = 0; n < g.n; ++n)
        for (int64_t s = 0; s < spatial; ++s) acc += gy.data<T>()[n * sample_stride(gy) + o * spatial + s];
      pb[o] = T(acc);
    }
  }
}

}  // namespace

void conv_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const WindowGeometry& g) {
  visit_floating(x.dtype(), "conv2d", [&](auto tag) { forward_fast<typename decltype(tag)::type>(x, weight, bias, y, g); });
}

void conv_backward_data(const Tensor& weight, const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  visit_floating(gy.dtype(), "conv2d", [&](auto tag) { backward_data_fast<typename decltype(tag)::type>(weight, gy, gx, g); });
}

void conv_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, Tensor* gb, const WindowGeometry& g) {
  visit_floating(x.dtype(), "conv2d", [&](auto tag) { backward_filter_fast<typename decltype(tag)::type>(x, gy, gw, gb, g); });
}

}  // namespace rg::cpu
