#include "layers/pooling.h"

#include <limits>

#include "layers/layer_common.h"

namespace rg {

using namespace layers_detail;

namespace {

struct PoolGeometry {
  int64_t n, c, h, w, oh, ow, k, s, p;
};

PoolGeometry geometry(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, const char* op) {
  RG_CHECK(x.dim() == 4, op, ": expected input [N, C, H, W], got ", shape_str(x.shape()));
  RG_CHECK(kernel > 0 && stride > 0 && padding >= 0 && 2 * padding <= kernel, op,
           ": need kernel > 0, stride > 0 and 0 <= padding <= kernel / 2 (got kernel ", kernel, ", stride ", stride,
           ", padding ", padding, ")");
  require_cpu(x, op);
  PoolGeometry g{x.size(0), x.size(1), x.size(2), x.size(3), 0, 0, kernel, stride, padding};
  g.oh = (g.h + 2 * padding - kernel) / stride + 1;
  g.ow = (g.w + 2 * padding - kernel) / stride + 1;
  RG_CHECK(g.oh > 0 && g.ow > 0, op, ": input ", shape_str(x.shape()), " is smaller than the kernel ", kernel);
  return g;
}

}  // namespace

Tensor max_pool2d(const Tensor& x_in, int64_t kernel, int64_t stride, int64_t padding) {
  const PoolGeometry g = geometry(x_in, kernel, stride, padding, "max_pool2d");
  const Tensor x = as_contiguous(x_in);
  Tensor y = Tensor::empty({g.n, g.c, g.oh, g.ow}, x.dtype(), x.device());
  // argmax[n, c, i, j]: the index within x's [H, W] plane where window (i, j) found its maximum.
  Tensor argmax = Tensor::empty(y.shape(), DType::Int64);
  visit_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    int64_t* pa = argmax.data<int64_t>();
#pragma omp parallel for
    for (int64_t plane = 0; plane < g.n * g.c; ++plane)
      for (int64_t i = 0; i < g.oh; ++i)
        for (int64_t j = 0; j < g.ow; ++j) {
          T best = -std::numeric_limits<T>::infinity();
          int64_t at = -1;
          for (int64_t p = 0; p < g.k; ++p)
            for (int64_t q = 0; q < g.k; ++q) {
              const int64_t yy = i * g.s + p - g.p, xx = j * g.s + q - g.p;
              if (yy < 0 || yy >= g.h || xx < 0 || xx >= g.w) continue;
              const T v = px[plane * g.h * g.w + yy * g.w + xx];
              if (at < 0 || v > best || v != v) {
                best = v;
                at = yy * g.w + xx;
                if (v != v) break;  // NaN wins, as in PyTorch
              }
            }
          py[(plane * g.oh + i) * g.ow + j] = best;
          pa[(plane * g.oh + i) * g.ow + j] = at;
        }
  });
  return record("max_pool2d", y, {x_in}, [argmax, g, dtype = x.dtype()](const Tensor& gy_in) -> Grads {
    const Tensor gy = as_contiguous(gy_in);
    Tensor gx = Tensor::empty({g.n, g.c, g.h, g.w}, dtype);
    gx.fill_(0.0);
    visit_floating(dtype, "max_pool2d", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = gy.data<T>();
      const int64_t* pa = argmax.data<int64_t>();
      T* out = gx.data<T>();
#pragma omp parallel for
      for (int64_t plane = 0; plane < g.n * g.c; ++plane)
        for (int64_t k = 0; k < g.oh * g.ow; ++k) out[plane * g.h * g.w + pa[plane * g.oh * g.ow + k]] += pg[plane * g.oh * g.ow + k];
    });
    return {gx};
  });
}

Tensor avg_pool2d(const Tensor& x_in, int64_t kernel, int64_t stride, int64_t padding) {
  const PoolGeometry g = geometry(x_in, kernel, stride, padding, "avg_pool2d");
  const Tensor x = samples_contiguous(x_in);
  const int64_t batch_stride = x.strides()[0];
  Tensor y = Tensor::empty({g.n, g.c, g.oh, g.ow}, x.dtype(), x.device());
  const double area = double(g.k * g.k);
  visit_floating(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for collapse(2)
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t c = 0; c < g.c; ++c)
        for (int64_t i = 0; i < g.oh; ++i)
          for (int64_t j = 0; j < g.ow; ++j) {
            double sum = 0;
            for (int64_t p = 0; p < g.k; ++p)
              for (int64_t q = 0; q < g.k; ++q) {
                const int64_t yy = i * g.s + p - g.p, xx = j * g.s + q - g.p;
                if (yy >= 0 && yy < g.h && xx >= 0 && xx < g.w) sum += px[n * batch_stride + (c * g.h + yy) * g.w + xx];
              }
            py[((n * g.c + c) * g.oh + i) * g.ow + j] = T(sum / area);
          }
  });
  return record("avg_pool2d", y, {x_in}, [g, area, dtype = x.dtype()](const Tensor& gy_in) -> Grads {
    const Tensor gy = as_contiguous(gy_in);
    Tensor gx = Tensor::empty({g.n, g.c, g.h, g.w}, dtype);
    gx.fill_(0.0);
    visit_floating(dtype, "avg_pool2d", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = gy.data<T>();
      T* out = gx.data<T>();
#pragma omp parallel for
      for (int64_t plane = 0; plane < g.n * g.c; ++plane)
        for (int64_t i = 0; i < g.oh; ++i)
          for (int64_t j = 0; j < g.ow; ++j) {
            const T share = T(pg[(plane * g.oh + i) * g.ow + j] / area);
            for (int64_t p = 0; p < g.k; ++p)
              for (int64_t q = 0; q < g.k; ++q) {
                const int64_t yy = i * g.s + p - g.p, xx = j * g.s + q - g.p;
                if (yy >= 0 && yy < g.h && xx >= 0 && xx < g.w) out[(plane * g.h + yy) * g.w + xx] += share;
              }
          }
    });
    return {gx};
  });
}

Tensor global_avg_pool2d(const Tensor& x) {
  RG_CHECK(x.dim() == 4, "global_avg_pool2d: expected input [N, C, H, W], got ", shape_str(x.shape()));
  return mean(x, {2, 3});
}

}  // namespace rg
