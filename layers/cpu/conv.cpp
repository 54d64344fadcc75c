// Convolution on the CPU, the fast path. Three algorithms (conv_algorithm() below picks one per
// shape and pass): im2col + GEMM, here, for any geometry; Direct and Winograd for stride 1
// (conv_algorithms.h). im2col: GEMM on OpenBLAS (tensor/cpu/gemm.h), W viewed as a [O, K]
// matrix, K = C*KH*KW. Samples are taken in groups of G, side by side in one matrix of columns,
// so that one GEMM serves the whole group:
//   cols = im2col(x[group])        [K, G*S]   (S = OH*OW; sample g's columns at g*S)
//   y[group] = W @ cols            [O, G*S]
//   backward:  gW += gy[group] @ cols^T,   gcols = W^T @ gy[group],   gx[group] = col2im(gcols)
//              (with stride 1, gx is itself a convolution of gy instead: backward_data_by_conv)
// G is chosen so a group has about kGroupColumns columns: 1 for the 56x56 maps of DenseNet's first
// block (3136 columns each), the whole batch for the 7x7 maps of its last (49 each), where one GEMM
// per sample would be too thin to run near the machine's peak. A 1x1, stride-1, unpadded conv of
// one sample needs no columns at all: the GEMM reads x[n] and writes y[n] directly.
// The column matrices live in per-thread scratch buffers that are reused from call to call.
#include <algorithm>
#include <cstring>
#include <vector>

#include "layers/cpu/conv_algorithms.h"
#include "layers/cpu/cpu_kernels.h"
#include "tensor/cpu/gemm.h"

namespace rg::cpu {

namespace {

constexpr int64_t kGroupColumns = 2048;

bool is_pointwise(const WindowGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

int64_t group_size(const WindowGeometry& g) { return std::clamp<int64_t>(kGroupColumns / (g.oh * g.ow), 1, g.n); }

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
      for (int64_t k = 0; k < samples; ++k) std::memcpy(to + (r * samples + k) * s, from + k * stride + r * s, size_t(s) * sizeof(T));
  });
}

// The inverse: to[k][r, j] = from[r, k*s + j].
template <typename T>
void scatter(const T* from, int64_t samples, int64_t rows, int64_t s, T* to, int64_t stride) {
  parallel_for(rows, grain_for(samples * s), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t k = 0; k < samples; ++k) std::memcpy(to + k * stride + r * s, from + (r * samples + k) * s, size_t(s) * sizeof(T));
  });
}

// The columns of `count` samples from x0 on (`stride` apart): x0 itself for one sample of a
// pointwise conv, else written into scratch slot 0. Returns the matrix and sets its row stride.
template <typename T>
const T* columns(const T* x0, int64_t stride, int64_t count, const WindowGeometry& g, int64_t& ld) {
  const int64_t k = g.c * g.kh * g.kw, s = g.oh * g.ow;
  ld = count * s;
  if (is_pointwise(g) && count == 1) return x0;
  T* cols = scratch<T>(0, k * count * s);
  if (is_pointwise(g)) {
    gather(x0, stride, count, k, s, cols);
  } else {
    for (int64_t i = 0; i < count; ++i) im2col(x0 + i * stride, cols + i * s, ld, g);
  }
  return cols;
}

// gy's samples [n0, n0 + count) side by side [O, count*S]: gy[n0] itself for one sample, else
// gathered into scratch slot 1.
template <typename T>
const T* output_columns(const Tensor& gy, int64_t n0, int64_t count, const WindowGeometry& g) {
  const int64_t s = g.oh * g.ow;
  const T* gy0 = gy.data<T>() + n0 * sample_stride(gy);
  if (count == 1) return gy0;
  T* to = scratch<T>(1, g.o * count * s);
  gather(gy0, sample_stride(gy), count, g.o, s, to);
  return to;
}

// y [N, O, OH, OW] (contiguous) = conv(x, w) for x's samples `x_stride` apart, w [O, K], by
// `algo` (im2col below, or one of conv_algorithms.h).
// im2col: with at least two groups per thread, the groups run in parallel, each on one thread (its
// own scratch, one GEMM that packs W once); with fewer, one group at a time, each GEMM split.
template <typename T>
void convolve(const T* x, int64_t x_stride, const T* w, T* y, const WindowGeometry& g, CpuConvAlgo algo) {
  if (algo == CpuConvAlgo::Direct) return direct_forward(x, x_stride, w, y, g);
  if (algo == CpuConvAlgo::Winograd) return winograd_forward(x, x_stride, w, y, g);
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
        T* out = scratch<T>(1, g.o * count * s);
        gemm<T>(false, false, g.o, count * s, k, T(1), w, k, cols, ld, T(0), out, count * s);
        scatter(out, count, g.o, s, y0, g.o * s);
      }
    }
  });
}

template <typename T>
void forward_fast(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const WindowGeometry& g) {
  const int64_t s = g.oh * g.ow;
  convolve<T>(x.data<T>(), sample_stride(x), weight.data<T>(), y.data<T>(), g,
              conv_algorithm(g, ConvPass::Forward));
  if (bias.defined()) {
    const T* pb = bias.data<T>();
    T* py = y.data<T>();
    parallel_for(g.n * g.o, grain_for(s), [&](int64_t p0, int64_t p1) {
      for (int64_t plane = p0; plane < p1; ++plane)
        for (int64_t i = 0; i < s; ++i) py[plane * s + i] += pb[plane % g.o];
    });
  }
}

// Whether the gradient of the input can be computed as a convolution of gy (below).
bool can_backward_data_by_conv(const WindowGeometry& g) {
  return !is_pointwise(g) && g.sh == 1 && g.sw == 1 && g.ph <= (g.kh - 1) * g.dh && g.pw <= (g.kw - 1) * g.dw;
}

// With stride 1, gx[c, y, x] = sum over (o, p, q) of gy[o, y - p*dh + ph, x - q*dw + pw] * w[o, c, p, q]:
// a convolution of gy [N, O, OH, OW] with the filters transposed (o <-> c) and flipped (p -> KH-1-p,
// q -> KW-1-q), padded by (KH-1)*dh - ph. Its columns have O*KH*KW rows instead of the C*KH*KW
// that W^T @ gy would fill (4x fewer for DenseNet's 3x3 convolutions: 32 filters over 128
// channels), and it needs no col2im.
template <typename T>
void backward_data_by_conv(const T* w, const T* gy, int64_t gy_stride, T* gx, const WindowGeometry& g, CpuConvAlgo algo) {
  std::vector<T> flipped(size_t(g.c * g.o * g.kh * g.kw));  // [C, O, KH, KW]
  for (int64_t o = 0; o < g.o; ++o)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t p = 0; p < g.kh; ++p)
        for (int64_t q = 0; q < g.kw; ++q)
          flipped[size_t(((c * g.o + o) * g.kh + p) * g.kw + q)] =
              w[((o * g.c + c) * g.kh + (g.kh - 1 - p)) * g.kw + (g.kw - 1 - q)];
  WindowGeometry t = g;
  t.c = g.o;
  t.h = g.oh;
  t.w = g.ow;
  t.o = g.c;
  t.oh = g.h;
  t.ow = g.w;
  t.ph = (g.kh - 1) * g.dh - g.ph;
  t.pw = (g.kw - 1) * g.dw - g.pw;
  convolve<T>(gy, gy_stride, flipped.data(), gx, t, algo);
}

template <typename T>
void backward_data_fast(const Tensor& weight, const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  const int64_t k = g.c * g.kh * g.kw, s = g.oh * g.ow, group = group_size(g), sample = g.c * g.h * g.w;
  const T* w = weight.data<T>();
  if (can_backward_data_by_conv(g)) {
    backward_data_by_conv(w, gy.data<T>(), sample_stride(gy), gx.data<T>(), g,
                          conv_algorithm(g, ConvPass::BackwardData));
    return;
  }
  for (int64_t n0 = 0; n0 < g.n; n0 += group) {
    const int64_t count = std::min(group, g.n - n0);
    const T* gyg = output_columns<T>(gy, n0, count, g);
    T* gx0 = gx.data<T>() + n0 * sample;
    if (is_pointwise(g) && count == 1) {
      gemm<T>(true, false, k, s, g.o, T(1), w, k, gyg, s, T(0), gx0, s);
      continue;
    }
    T* gcols = scratch<T>(0, k * count * s);
    gemm<T>(true, false, k, count * s, g.o, T(1), w, k, gyg, count * s, T(0), gcols, count * s);
    if (is_pointwise(g)) {
      scatter(gcols, count, k, s, gx0, sample);
    } else {
      for (int64_t i = 0; i < count; ++i) col2im(gcols + i * s, count * s, gx0 + i * sample, g);
    }
  }
}

template <typename T>
void backward_filter_fast(const Tensor& x, const Tensor& gy, Tensor& gw, Tensor* gb, const WindowGeometry& g) {
  const int64_t k = g.c * g.kh * g.kw, s = g.oh * g.ow, group = group_size(g);
  if (conv_algorithm(g, ConvPass::BackwardFilter) == CpuConvAlgo::Direct) {
    direct_backward_filter(x.data<T>(), sample_stride(x), gy.data<T>(), sample_stride(gy), gw.data<T>(), g);
  } else {
    gw.fill_(0.0);
    for (int64_t n0 = 0; n0 < g.n; n0 += group) {
      const int64_t count = std::min(group, g.n - n0);
      int64_t ld = 0;
      const T* cols = columns<T>(x.data<T>() + n0 * sample_stride(x), sample_stride(x), count, g, ld);
      const T* gyg = output_columns<T>(gy, n0, count, g);
      gemm<T>(false, true, g.o, k, count * s, T(1), gyg, count * s, cols, ld, T(1), gw.data<T>(), k);
    }
  }
  if (gb) {
    T* pb = gb->data<T>();
    const T* pg = gy.data<T>();
    parallel_for(g.o, grain_for(g.n * s), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        double acc = 0;
        for (int64_t n = 0; n < g.n; ++n)
          for (int64_t i = 0; i < s; ++i) acc += pg[n * sample_stride(gy) + o * s + i];
        pb[o] = T(acc);
      }
    });
  }
}

}  // namespace

// Auto: the fastest in bench_layers at DenseNet121's shapes on the CPUs of bench/RESULTS.md.
// Forward: Winograd on maps of 14x14 and more, Direct below. Input gradient (a stride-1 one is a
// convolution of gy, with O input channels): Winograd from about 48x48, im2col below, whose GEMM
// is 4x taller than Direct's. Filter gradient: Direct. Winograd's error is that of im2col (tests:
// "the CPU convolution algorithms' float32 error").
CpuConvAlgo conv_algorithm(const WindowGeometry& g, ConvPass pass) {
  const bool as_conv = pass != ConvPass::BackwardData || can_backward_data_by_conv(g);
  const bool direct = as_conv && direct_applies(g);
  const bool winograd = as_conv && pass != ConvPass::BackwardFilter && winograd_applies(g);
  switch (conv_settings().cpu_algo) {
    case CpuConvAlgo::Im2col: return CpuConvAlgo::Im2col;
    case CpuConvAlgo::Direct:
      if (direct) return CpuConvAlgo::Direct;
      break;
    case CpuConvAlgo::Winograd:
      if (winograd) return CpuConvAlgo::Winograd;
      break;
    case CpuConvAlgo::Auto: break;
  }
  const int64_t map = g.oh * g.ow;
  if (winograd && map >= (pass == ConvPass::Forward ? 14 * 14 : 48 * 48)) return CpuConvAlgo::Winograd;
  return direct && pass != ConvPass::BackwardData ? CpuConvAlgo::Direct : CpuConvAlgo::Im2col;
}

// An empty batch: nothing to compute but the parameter gradients' zeros.
void conv_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const WindowGeometry& g) {
  if (g.n == 0) return;
  visit_floating(x.dtype(), "conv2d", [&](auto tag) { forward_fast<typename decltype(tag)::type>(x, weight, bias, y, g); });
}

void conv_backward_data(const Tensor& weight, const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  if (g.n == 0) return;
  visit_floating(gy.dtype(), "conv2d", [&](auto tag) { backward_data_fast<typename decltype(tag)::type>(weight, gy, gx, g); });
}

void conv_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, Tensor* gb, const WindowGeometry& g) {
  if (g.n == 0) {
    gw.fill_(0);
    if (gb) gb->fill_(0);
    return;
  }
  visit_floating(x.dtype(), "conv2d", [&](auto tag) { backward_filter_fast<typename decltype(tag)::type>(x, gy, gw, gb, g); });
}

}  // namespace rg::cpu
