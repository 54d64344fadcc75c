// Pooling on the CPU, the fast path: the [H, W] planes in parallel. (The definitions are in
// reference.cpp.)
#include <algorithm>
#include <cmath>
#include <limits>

#include "layers/cpu/cpu_kernels.h"

namespace rg::cpu {

namespace {

// The first element of plane `plane` of x (samples contiguous, any batch stride).
template <typename T>
const T* plane_of(const Tensor& x, int64_t plane, const WindowGeometry& g) {
  return x.data<T>() + (plane / g.c) * sample_stride(x) + (plane % g.c) * g.h * g.w;
}

// The window taps t in [0, k) whose input position start + t*dilation lies in [0, extent): [lo, hi).
struct TapRange {
  int64_t lo, hi;
};
TapRange inside_taps(int64_t start, int64_t dilation, int64_t extent, int64_t k) {
  const int64_t lo = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  const int64_t hi = extent - 1 - start < 0 ? 0 : std::min(k, (extent - 1 - start) / dilation + 1);
  return {std::min(lo, hi), hi};
}

// The input index (yy * w + xx) of the first maximum of output (i, j)'s window — the first NaN if
// there is one — or -1 for a window entirely in the padding. The window is clipped to the image
// once, so the loop over it tests nothing but the values.
template <typename T>
int64_t first_max(const T* in, int64_t i, int64_t j, const WindowGeometry& g) {
  const int64_t y0 = i * g.sh - g.ph, x0 = j * g.sw - g.pw;
  const TapRange rows = inside_taps(y0, g.dh, g.h, g.kh), cols = inside_taps(x0, g.dw, g.w, g.kw);
  T best = -std::numeric_limits<T>::infinity();
  int64_t at = -1;
  for (int64_t p = rows.lo; p < rows.hi; ++p) {
    const int64_t row = (y0 + p * g.dh) * g.w + x0;
    for (int64_t q = cols.lo; q < cols.hi; ++q) {
      const T v = in[row + q * g.dw];
      if (v != v) return row + q * g.dw;       // NaN wins, as in PyTorch
      const bool better = at < 0 || v > best;  // selects, not branches: random data mispredicts
      best = better ? v : best;
      at = better ? row + q * g.dw : at;
    }
  }
  return at;
}

// fn(plane, in, o, at) for every output o = (plane * OH + i) * OW + j, with `in` the plane's input
// and `at` its window's first maximum there (first_max); the planes in parallel.
template <typename T, typename Fn>
void for_each_window_max(const Tensor& x, const WindowGeometry& g, Fn fn) {
  parallel_for(g.n * g.c, grain_for(g.oh * g.ow * g.kh * g.kw), [&](int64_t plane0, int64_t plane1) {
    for (int64_t plane = plane0; plane < plane1; ++plane) {
      const T* in = plane_of<T>(x, plane, g);
      for (int64_t i = 0; i < g.oh; ++i)
        for (int64_t j = 0; j < g.ow; ++j) fn(plane, in, (plane * g.oh + i) * g.ow + j, first_max(in, i, j, g));
    }
  });
}

}  // namespace

void max_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g) {
  visit_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* py = y.data<T>();
    for_each_window_max<T>(x, g, [&](int64_t, const T* in, int64_t o, int64_t at) {
      py[o] = at < 0 ? -std::numeric_limits<T>::infinity() : in[at];
    });
  });
}

// The window's maximum is found again (the same first maximum as the forward): no argmax is kept.
void max_pool_backward(const Tensor& x, const Tensor&, const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  gx.fill_(0.0);
  visit_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pg = gy.data<T>();
    T* out = gx.data<T>();
    for_each_window_max<T>(x, g, [&](int64_t plane, const T*, int64_t o, int64_t at) {
      if (at >= 0) out[plane * g.h * g.w + at] += pg[o];
    });
  });
}

void avg_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g) {
  const double area = double(g.kh * g.kw);
  visit_floating(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* py = y.data<T>();
    parallel_for(g.n * g.c, grain_for(g.oh * g.ow * g.kh * g.kw), [&](int64_t plane0, int64_t plane1) {
      for (int64_t plane = plane0; plane < plane1; ++plane) {
        const T* in = plane_of<T>(x, plane, g);
        for (int64_t i = 0; i < g.oh; ++i)
          for (int64_t j = 0; j < g.ow; ++j) {
            double sum = 0;
            for_window(g, i, j, [&](int64_t, int64_t, int64_t yy, int64_t xx) { sum += in[yy * g.w + xx]; });
            py[(plane * g.oh + i) * g.ow + j] = T(sum / area);
          }
      }
    });
  });
}

void avg_pool_backward(const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  const double area = double(g.kh * g.kw);
  gx.fill_(0.0);
  visit_floating(gy.dtype(), "avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pg = gy.data<T>();
    T* out = gx.data<T>();
    parallel_for(g.n * g.c, grain_for(g.oh * g.ow * g.kh * g.kw), [&](int64_t plane0, int64_t plane1) {
      for (int64_t plane = plane0; plane < plane1; ++plane)
        for (int64_t i = 0; i < g.oh; ++i)
          for (int64_t j = 0; j < g.ow; ++j) {
            const T share = T(pg[(plane * g.oh + i) * g.ow + j] / area);
            for_window(g, i, j,
                       [&](int64_t, int64_t, int64_t yy, int64_t xx) { out[(plane * g.h + yy) * g.w + xx] += share; });
          }
    });
  });
}

}  // namespace rg::cpu
