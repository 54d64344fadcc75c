// im2col + GEMM, the CPU convolution for any geometry (conv_algorithms.h). W is viewed as a
// [O, K] matrix, K = C*KH*KW, and samples are taken in groups of G, side by side in one matrix of
// columns, so that one GEMM serves the whole group:
//   cols = im2col(x[group])        [K, G*S]   (S = OH*OW; sample g's columns at g*S)
//   y[group] = W @ cols            [O, G*S]
//   backward:  gW += gy[group] @ cols^T,   gcols = W^T @ gy[group],   gx[group] = col2im(gcols)
//              (with stride 1, gx is itself a convolution of gy instead: backward_data_by_conv)
// G is chosen so a group has about kGroupColumns columns: 1 for the 56x56 maps of DenseNet's first
// block (3136 columns each), the whole batch for the 7x7 maps of its last (49 each), where one GEMM
// per sample would be too thin to run near the machine's peak. A 1x1, stride-1, unpadded conv of
// one sample needs no columns at all: the GEMM reads x[n] and writes y[n] directly.
#include <algorithm>
#include <cstring>

#include "layers/cpu/conv_algorithms.h"
#include "layers/cpu/cpu_kernels.h"
#include "tensor/cpu/gemm.h"

namespace rg::cpu {

namespace {

constexpr int64_t kGroupColumns = 2048;

int64_t group_size(const WindowGeometry& g) { return samples_per_group(kGroupColumns, g.oh * g.ow, g.n); }

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

// cols[(c, p, q), (i, j)] = x[c, i*sh + p*dh - ph, j*sw + q*dw - pw], 0 outside; row r of cols
// starts at cols + r * ld. Per row, the columns that read inside the image are one run: copied
// (memcpy when sw = 1), the padding on either side zero-filled — no bounds test per element.
template <typename T>
void im2col(const T* x, T* cols, int64_t ld, const WindowGeometry& g) {
  const int64_t rows = g.c * g.kh * g.kw;
  parallel_for(rows, grain_for(g.oh * g.ow), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r / (g.kh * g.kw), p = r / g.kw % g.kh, q = r % g.kw;
      T* row = cols + r * ld;
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
  });
}

// The adjoint of im2col: gx[c, y, x] = sum of gcols[(c, p, q), (i, j)] over every (p, q, i, j)
// that read it.
template <typename T>
void col2im(const T* cols, int64_t ld, T* gx, const WindowGeometry& g) {
  parallel_for(g.c, grain_for(g.kh * g.kw * g.oh * g.ow), [&](int64_t c0, int64_t c1) {
    std::fill(gx + c0 * g.h * g.w, gx + c1 * g.h * g.w, T(0));
    for (int64_t c = c0; c < c1; ++c)  // each chunk owns whole channels: no two write one element
      for (int64_t p = 0; p < g.kh; ++p)
        for (int64_t q = 0; q < g.kw; ++q) {
          const T* row = cols + ((c * g.kh + p) * g.kw + q) * ld;
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
  });
}

// Copies `samples` samples [rows, s] (stride `stride` apart) side by side: to[r, k*s + j] = from[k][r, j].
template <typename T>
void gather(const T* from, int64_t stride, int64_t samples, int64_t rows, int64_t s, T* to) {
  parallel_for(rows, grain_for(samples * s), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t k = 0; k < samples; ++k)
        std::memcpy(to + (r * samples + k) * s, from + k * stride + r * s, size_t(s) * sizeof(T));
  });
}

// The inverse: to[k][r, j] = from[r, k*s + j].
template <typename T>
void scatter(const T* from, int64_t samples, int64_t rows, int64_t s, T* to, int64_t stride) {
  parallel_for(rows, grain_for(samples * s), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t k = 0; k < samples; ++k)
        std::memcpy(to + k * stride + r * s, from + (r * samples + k) * s, size_t(s) * sizeof(T));
  });
}

// The columns of `count` samples from x0 on (`stride` apart): x0 itself for one sample of a
// pointwise conv, else written into the Columns scratch. Returns the matrix and sets its row stride.
template <typename T>
const T* columns(const T* x0, int64_t stride, int64_t count, const WindowGeometry& g, int64_t& ld) {
  const int64_t k = g.c * g.kh * g.kw, s = g.oh * g.ow;
  ld = count * s;
  if (is_pointwise(g) && count == 1) return x0;
  T* cols = scratch<T>(Scratch::Columns, k * count * s);
  if (is_pointwise(g)) {
    gather(x0, stride, count, k, s, cols);
  } else {
    for (int64_t i = 0; i < count; ++i) im2col(x0 + i * stride, cols + i * s, ld, g);
  }
  return cols;
}

// `count` samples of gy from gy0 on, side by side [O, count*S]: gy0 itself for one sample, else
// gathered into the Gathered scratch.
template <typename T>
const T* output_columns(const T* gy0, int64_t gy_stride, int64_t count, const WindowGeometry& g) {
  const int64_t s = g.oh * g.ow;
  if (count == 1) return gy0;
  T* to = scratch<T>(Scratch::Gathered, g.o * count * s);
  gather(gy0, gy_stride, count, g.o, s, to);
  return to;
}

// With at least two groups per thread, the groups run in parallel, each on one thread (its own
// scratch, one GEMM that packs W once); with fewer, one group at a time, each GEMM split.
template <typename T>
void forward(const T* x, int64_t x_stride, const T* w, T* y, const WindowGeometry& g) {
  const int64_t k = g.c * g.kh * g.kw, s = g.oh * g.ow, group = group_size(g);
  const int64_t groups = (g.n + group - 1) / group;
  parallel_for(groups, groups >= 2 * num_threads() ? 1 : groups, [&](int64_t first, int64_t last) {
    for (int64_t n0 = first * group; n0 < std::min(last * group, g.n); n0 += group) {
      const int64_t count = std::min(group, g.n - n0);
      int64_t ld = 0;
      const T* cols = columns<T>(x + n0 * x_stride, x_stride, count, g, ld);
      T* y0 = y + n0 * g.o * s;
      if (count == 1) {
        gemm<T>(false, false, g.o, s, k, T(1), w, k, cols, ld, T(0), y0, s);
      } else {
        T* out = scratch<T>(Scratch::Gathered, g.o * count * s);
        gemm<T>(false, false, g.o, count * s, k, T(1), w, k, cols, ld, T(0), out, count * s);
        scatter(out, count, g.o, s, y0, g.o * s);
      }
    }
  });
}

// As a convolution of gy where that applies, else gcols = W^T @ gy and col2im.
template <typename T>
void backward_data(const T* w, const T* gy, int64_t gy_stride, T* gx, const WindowGeometry& g) {
  if (can_backward_data_by_conv(g)) return backward_data_by_conv<T>(forward<T>, w, gy, gy_stride, gx, g);
  const int64_t k = g.c * g.kh * g.kw, s = g.oh * g.ow, group = group_size(g), sample = g.c * g.h * g.w;
  for (int64_t n0 = 0; n0 < g.n; n0 += group) {
    const int64_t count = std::min(group, g.n - n0);
    const T* gyg = output_columns<T>(gy + n0 * gy_stride, gy_stride, count, g);
    T* gx0 = gx + n0 * sample;
    if (is_pointwise(g) && count == 1) {
      gemm<T>(true, false, k, s, g.o, T(1), w, k, gyg, s, T(0), gx0, s);
      continue;
    }
    T* gcols = scratch<T>(Scratch::Columns, k * count * s);
    gemm<T>(true, false, k, count * s, g.o, T(1), w, k, gyg, count * s, T(0), gcols, count * s);
    if (is_pointwise(g)) {
      scatter(gcols, count, k, s, gx0, sample);
    } else {
      for (int64_t i = 0; i < count; ++i) col2im(gcols + i * s, count * s, gx0 + i * sample, g);
    }
  }
}

template <typename T>
void backward_filter(const T* x, int64_t x_stride, const T* gy, int64_t gy_stride, T* gw, const WindowGeometry& g) {
  const int64_t k = g.c * g.kh * g.kw, s = g.oh * g.ow, group = group_size(g);
  std::fill(gw, gw + g.o * k, T(0));
  for (int64_t n0 = 0; n0 < g.n; n0 += group) {
    const int64_t count = std::min(group, g.n - n0);
    int64_t ld = 0;
    const T* cols = columns<T>(x + n0 * x_stride, x_stride, count, g, ld);
    const T* gyg = output_columns<T>(gy + n0 * gy_stride, gy_stride, count, g);
    gemm<T>(false, true, g.o, k, count * s, T(1), gyg, count * s, cols, ld, T(1), gw, k);
  }
}

bool applies(const WindowGeometry&, ConvPass) { return true; }

}  // namespace

template <typename T>
ConvAlgorithm<T> im2col_algorithm() {
  return {.name = "im2col",
          .applies = applies,
          .forward = forward<T>,
          .backward_data = backward_data<T>,
          .backward_filter = backward_filter<T>};
}
template ConvAlgorithm<float> im2col_algorithm<float>();
template ConvAlgorithm<double> im2col_algorithm<double>();

}  // namespace rg::cpu
