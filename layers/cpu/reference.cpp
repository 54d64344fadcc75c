// The layer kernels as their definitions, loop by loop, accumulating in double. Slow and plain on
// purpose: every other path (the fast CPU kernels, cuDNN) is tested against these.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "layers/cpu/cpu_kernels.h"

namespace rg::cpu::reference {

namespace {

// Writes double accumulators into a tensor of dtype T.
template <typename T>
void store(Tensor& t, const std::vector<double>& values) {
  std::transform(values.begin(), values.end(), t.data<T>(), [](double v) { return T(v); });
}

}  // namespace

// ---- convolution ----------------------------------------------------------------------------

// y[n, o, i, j] = bias[o] + sum_{c, p, q} w[o, c, p, q] * x[n, c, i*sh + p*dh - ph, j*sw + q*dw - pw]
void conv_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const WindowGeometry& g) {
  visit_floating(x.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *pw = weight.data<T>();
    std::vector<double> out(size_t(g.n * g.o * g.oh * g.ow));
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t o = 0; o < g.o; ++o)
        for (int64_t i = 0; i < g.oh; ++i)
          for (int64_t j = 0; j < g.ow; ++j) {
            double acc = bias.defined() ? double(bias.data<T>()[o]) : 0.0;
            for (int64_t c = 0; c < g.c; ++c)
              for_window(g, i, j, [&](int64_t p, int64_t q, int64_t yy, int64_t xx) {
                acc += double(pw[((o * g.c + c) * g.kh + p) * g.kw + q]) *
                       double(px[n * sample_stride(x) + (c * g.h + yy) * g.w + xx]);
              });
            out[((n * g.o + o) * g.oh + i) * g.ow + j] = acc;
          }
    store<T>(y, out);
  });
}

// Each output's gradient flows back along the products that made it:
//   gx[n, c, yy, xx] += gy[n, o, i, j] * w[o, c, p, q]
void conv_backward_data(const Tensor& weight, const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  visit_floating(gy.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *pw = weight.data<T>(), *pg = gy.data<T>();
    std::vector<double> dx(size_t(g.n * g.c * g.h * g.w));
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t o = 0; o < g.o; ++o)
        for (int64_t i = 0; i < g.oh; ++i)
          for (int64_t j = 0; j < g.ow; ++j) {
            const double grad = pg[n * sample_stride(gy) + (o * g.oh + i) * g.ow + j];
            for (int64_t c = 0; c < g.c; ++c)
              for_window(g, i, j, [&](int64_t p, int64_t q, int64_t yy, int64_t xx) {
                dx[((n * g.c + c) * g.h + yy) * g.w + xx] += grad * double(pw[((o * g.c + c) * g.kh + p) * g.kw + q]);
              });
          }
    store<T>(gx, dx);
  });
}

//   gw[o, c, p, q] += gy[n, o, i, j] * x[n, c, yy, xx],   gb[o] += gy[n, o, i, j]
void conv_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, Tensor* gb, const WindowGeometry& g) {
  visit_floating(x.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *pg = gy.data<T>();
    std::vector<double> dw(size_t(g.o * g.c * g.kh * g.kw)), db(size_t(g.o));
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t o = 0; o < g.o; ++o)
        for (int64_t i = 0; i < g.oh; ++i)
          for (int64_t j = 0; j < g.ow; ++j) {
            const double grad = pg[n * sample_stride(gy) + (o * g.oh + i) * g.ow + j];
            db[o] += grad;
            for (int64_t c = 0; c < g.c; ++c)
              for_window(g, i, j, [&](int64_t p, int64_t q, int64_t yy, int64_t xx) {
                dw[((o * g.c + c) * g.kh + p) * g.kw + q] +=
                    grad * double(px[n * sample_stride(x) + (c * g.h + yy) * g.w + xx]);
              });
          }
    store<T>(gw, dw);
    if (gb) store<T>(*gb, db);
  });
}

// ---- batch norm ----------------------------------------------------------------------------

namespace {

// x[n, c, s] as a double, for a batch-norm input of layout l.
template <typename T>
double at(const T* x, const ChannelLayout& l, int64_t n, int64_t c, int64_t s) {
  return double(x[n * l.batch_stride + c * l.s + s]);
}

// gy[n, c, s], or 0 where a fused ReLU's output relu_y was not positive.
template <typename T>
double grad_at(const T* gy, const T* relu_y, const ChannelLayout& l, int64_t n, int64_t c, int64_t s) {
  const int64_t i = (n * l.c + c) * l.s + s;
  return relu_y && !(relu_y[i] > 0) ? 0.0 : double(gy[i]);
}

}  // namespace

// mean_c = sum x / M, var_c = sum (x - mean_c)^2 / M over the M = N*S values of channel c.
void batch_norm_stats(const Tensor& x, Tensor& mean, Tensor& var) {
  const ChannelLayout l = channel_layout(x);
  const double m = double(l.n * l.s);
  std::vector<double> mu(size_t(l.c)), v(size_t(l.c));
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    for (int64_t c = 0; c < l.c; ++c) {
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s) mu[c] += at(px, l, n, c, s) / m;
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s) v[c] += (at(px, l, n, c, s) - mu[c]) * (at(px, l, n, c, s) - mu[c]) / m;
    }
    store<T>(mean, mu);
    store<T>(var, v);
  });
}

// y[n, c, s] = (x[n, c, s] - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c], then max(0, y) with relu
void batch_norm_elemt(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                      double eps, bool relu, Tensor& y) {
  const ChannelLayout l = channel_layout(x);
  const std::vector<double> mu = mean.to_vector<double>(), v = var.to_vector<double>();
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    std::vector<double> out(size_t(l.n * l.c * l.s));
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t c = 0; c < l.c; ++c)
        for (int64_t s = 0; s < l.s; ++s) {
          const double xhat = (at(px, l, n, c, s) - mu[c]) / std::sqrt(v[c] + eps);
          const double value = xhat * (weight.defined() ? double(weight.data<T>()[c]) : 1.0) +
                               (bias.defined() ? double(bias.data<T>()[c]) : 0.0);
          out[(n * l.c + c) * l.s + s] = relu && value < 0 ? 0.0 : value;  // NaN passes through, as in relu()
        }
    store<T>(y, out);
  });
}

// sum_dy_c = sum gy, sum_dy_xmu_c = sum gy * (x - mean_c) over channel c's values (gy masked by a
// fused ReLU's output). They give gbias = sum_dy and gweight = sum_dy_xmu / sqrt(var + eps).
void batch_norm_backward_reduce(const Tensor& x, const Tensor& gy, const Tensor& relu_y, const Tensor& mean,
                                Tensor& sum_dy, Tensor& sum_dy_xmu) {
  const ChannelLayout l = channel_layout(x);
  const std::vector<double> mu = mean.to_vector<double>();
  std::vector<double> dy(size_t(l.c)), dy_xmu(size_t(l.c));
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *pg = gy.data<T>(), *py = relu_y.defined() ? relu_y.data<T>() : nullptr;
    for (int64_t c = 0; c < l.c; ++c)
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s) {
          dy[c] += grad_at(pg, py, l, n, c, s);
          dy_xmu[c] += grad_at(pg, py, l, n, c, s) * (at(px, l, n, c, s) - mu[c]);
        }
  });
  store<double>(sum_dy, dy);
  store<double>(sum_dy_xmu, dy_xmu);
}

// With xhat = (x - mean) * invstd, gbias = sum_dy and gweight = sum gy * xhat = invstd * sum_dy_xmu:
//   gx = weight_c * invstd_c * (gy - gbias_c / M - xhat * gweight_c / M)
// (the last two terms: the gradient through the batch mean and variance; docs/derivations.md).
void batch_norm_backward_elemt(const Tensor& x, const Tensor& weight, const Tensor& gy, const Tensor& relu_y,
                               const Tensor& mean, const Tensor& var, double eps, const Tensor& sum_dy,
                               const Tensor& sum_dy_xmu, int64_t count, Tensor& gx) {
  const ChannelLayout l = channel_layout(x);
  const double m = double(count);
  const std::vector<double> mu = mean.to_vector<double>(), v = var.to_vector<double>();
  const std::vector<double> dy = sum_dy.to_vector<double>(), dy_xmu = sum_dy_xmu.to_vector<double>();
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *pg = gy.data<T>(), *py = relu_y.defined() ? relu_y.data<T>() : nullptr;
    std::vector<double> dx(size_t(l.n * l.c * l.s));
    for (int64_t c = 0; c < l.c; ++c) {
      const double invstd = 1 / std::sqrt(v[c] + eps), gbias = dy[c], gweight = invstd * dy_xmu[c];
      const double scale = invstd * (weight.defined() ? double(weight.data<T>()[c]) : 1.0);
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s) {
          const double xhat = (at(px, l, n, c, s) - mu[c]) * invstd;
          dx[(n * l.c + c) * l.s + s] = scale * (grad_at(pg, py, l, n, c, s) - gbias / m - xhat * gweight / m);
        }
    }
    store<T>(gx, dx);
  });
}

// ---- pooling --------------------------------------------------------------------------------

// y[n, c, i, j] = the largest x in the window (a NaN if there is one); padding is not a candidate.
void max_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g) {
  visit_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t plane = 0; plane < g.n * g.c; ++plane)
      for (int64_t i = 0; i < g.oh; ++i)
        for (int64_t j = 0; j < g.ow; ++j) {
          T best = -std::numeric_limits<T>::infinity();
          bool nan = false;
          for_window(g, i, j, [&](int64_t, int64_t, int64_t yy, int64_t xx) {
            const T v = px[(plane / g.c) * sample_stride(x) + ((plane % g.c) * g.h + yy) * g.w + xx];
            nan = nan || std::isnan(v);
            best = std::max(best, v);
          });
          py[(plane * g.oh + i) * g.ow + j] = nan ? std::numeric_limits<T>::quiet_NaN() : best;
        }
  });
}

// The gradient of each window goes to the first position holding its maximum.
void max_pool_backward(const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  visit_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *py = y.data<T>(), *pg = gy.data<T>();
    std::vector<double> dx(size_t(g.n * g.c * g.h * g.w));
    for (int64_t plane = 0; plane < g.n * g.c; ++plane)
      for (int64_t i = 0; i < g.oh; ++i)
        for (int64_t j = 0; j < g.ow; ++j) {
          const T best = py[(plane * g.oh + i) * g.ow + j];
          bool found = false;
          for_window(g, i, j, [&](int64_t, int64_t, int64_t yy, int64_t xx) {
            const T v = px[(plane / g.c) * sample_stride(x) + ((plane % g.c) * g.h + yy) * g.w + xx];
            if (found || !(v == best || (std::isnan(v) && std::isnan(best)))) return;
            found = true;
            dx[(plane * g.h + yy) * g.w + xx] += double(pg[(plane * g.oh + i) * g.ow + j]);
          });
        }
    store<T>(gx, dx);
  });
}

// y = the window's sum / its full area (padding counts as zeros).
void avg_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g) {
  visit_floating(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    std::vector<double> out(size_t(g.n * g.c * g.oh * g.ow));
    for (int64_t plane = 0; plane < g.n * g.c; ++plane)
      for (int64_t i = 0; i < g.oh; ++i)
        for (int64_t j = 0; j < g.ow; ++j)
          for_window(g, i, j, [&](int64_t, int64_t, int64_t yy, int64_t xx) {
            out[(plane * g.oh + i) * g.ow + j] +=
                double(px[(plane / g.c) * sample_stride(x) + ((plane % g.c) * g.h + yy) * g.w + xx]) /
                double(g.kh * g.kw);
          });
    store<T>(y, out);
  });
}

// Each output's gradient is shared equally by its window.
void avg_pool_backward(const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  visit_floating(gy.dtype(), "avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pg = gy.data<T>();
    std::vector<double> dx(size_t(g.n * g.c * g.h * g.w));
    for (int64_t plane = 0; plane < g.n * g.c; ++plane)
      for (int64_t i = 0; i < g.oh; ++i)
        for (int64_t j = 0; j < g.ow; ++j)
          for_window(g, i, j, [&](int64_t, int64_t, int64_t yy, int64_t xx) {
            dx[(plane * g.h + yy) * g.w + xx] += double(pg[(plane * g.oh + i) * g.ow + j]) / double(g.kh * g.kw);
          });
    store<T>(gx, dx);
  });
}

// ---- channel scale --------------------------------------------------------------------------

// y[n, c, h, w] = x[n, c, h, w] * s[n, c]
void channel_scale_forward(const Tensor& x, const Tensor& s, Tensor& y) {
  const ChannelLayout l = channel_layout(x);
  visit_floating(x.dtype(), "channel_scale", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *ps = s.data<T>();
    T* py = y.data<T>();
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t c = 0; c < l.c; ++c)
        for (int64_t i = 0; i < l.s; ++i)
          py[(n * l.c + c) * l.s + i] = px[n * l.batch_stride + c * l.s + i] * ps[n * l.c + c];
  });
}

// gx = gy * s,   gs[n, c] = sum over the plane of gy * x
void channel_scale_backward(const Tensor& x, const Tensor& s, const Tensor& gy, Tensor* gx, Tensor* gs) {
  const ChannelLayout l = channel_layout(x);
  visit_floating(x.dtype(), "channel_scale", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *ps = s.data<T>(), *pg = gy.data<T>();
    std::vector<double> ds(size_t(l.n * l.c));
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t c = 0; c < l.c; ++c)
        for (int64_t i = 0; i < l.s; ++i) {
          const int64_t at = (n * l.c + c) * l.s + i;
          if (gx) gx->data<T>()[at] = pg[at] * ps[n * l.c + c];
          ds[n * l.c + c] += double(pg[at]) * double(px[n * l.batch_stride + c * l.s + i]);
        }
    if (gs) store<T>(*gs, ds);
  });
}

}  // namespace rg::cpu::reference
