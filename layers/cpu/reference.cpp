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

// ---- batch norm -----------------------------------------------------------------------------

namespace {

// y[n, c, s] = (x[n, c, s] - mean[c]) * invstd[c] * weight[c] + bias[c], then max(0, y) with relu
void normalize(const Tensor& x, const Tensor& weight, const Tensor& bias, const std::vector<double>& mean,
               const std::vector<double>& invstd, bool relu, Tensor& y) {
  const ChannelLayout l = channel_layout(x);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    std::vector<double> out(size_t(l.n * l.c * l.s));
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t c = 0; c < l.c; ++c)
        for (int64_t s = 0; s < l.s; ++s) {
          const double xhat = (double(px[n * l.batch_stride + c * l.s + s]) - mean[c]) * invstd[c];
          const double v = xhat * (weight.defined() ? double(weight.data<T>()[c]) : 1.0) +
                           (bias.defined() ? double(bias.data<T>()[c]) : 0.0);
          out[(n * l.c + c) * l.s + s] = relu && v < 0 ? 0.0 : v;  // NaN passes through, as in relu()
        }
    store<T>(y, out);
  });
}

}  // namespace

// mean_c and the biased var_c over (n, s), then normalize.
void batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool relu, Tensor& y,
                      Tensor& mean, Tensor& invstd, Tensor& unbiased_var) {
  const ChannelLayout l = channel_layout(x);
  const double m = double(l.n * l.s);
  std::vector<double> mu(size_t(l.c)), var(size_t(l.c)), inv(size_t(l.c)), unbiased(size_t(l.c));
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    auto at = [&](int64_t n, int64_t c, int64_t s) { return double(px[n * l.batch_stride + c * l.s + s]); };
    for (int64_t c = 0; c < l.c; ++c) {
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s) mu[c] += at(n, c, s) / m;
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s) var[c] += (at(n, c, s) - mu[c]) * (at(n, c, s) - mu[c]) / m;
      inv[c] = 1 / std::sqrt(var[c] + eps);
      unbiased[c] = var[c] * m / (m - 1);
    }
    store<T>(mean, mu);
    store<T>(invstd, inv);
    store<T>(unbiased_var, unbiased);
  });
  normalize(x, weight, bias, mu, inv, relu, y);
}

void batch_norm_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                     double eps, bool relu, Tensor& y) {
  const std::vector<double> mu = mean.to_vector<double>(), v = var.to_vector<double>();
  std::vector<double> inv(v.size());
  for (size_t c = 0; c < v.size(); ++c) inv[c] = 1 / std::sqrt(v[c] + eps);
  normalize(x, weight, bias, mu, inv, relu, y);
}

// With xhat = (x - mean) * invstd and M = N*S values per channel:
//   gbias_c = sum gy,   gweight_c = sum gy * xhat,
//   gx = weight_c * invstd_c * (gy - gbias_c / M - xhat * gweight_c / M)
// (the last two terms: the gradient through the batch mean and variance). After a fused ReLU, gy
// stands for its gradient where the output relu_y is positive and 0 elsewhere.
void batch_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& gy, const Tensor& relu_y,
                         const Tensor& mean, const Tensor& invstd, double /*eps: in invstd*/, Tensor& gx, Tensor* gw,
                         Tensor* gb) {
  const ChannelLayout l = channel_layout(x);
  const double m = double(l.n * l.s);
  const std::vector<double> mu = mean.to_vector<double>(), inv = invstd.to_vector<double>();
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *pg = gy.data<T>();
    auto xhat = [&](int64_t n, int64_t c, int64_t s) {
      return (double(px[n * l.batch_stride + c * l.s + s]) - mu[c]) * inv[c];
    };
    const T* py = relu_y.defined() ? relu_y.data<T>() : nullptr;
    auto grad = [&](int64_t n, int64_t c, int64_t s) {
      const int64_t i = (n * l.c + c) * l.s + s;
      return py && !(py[i] > 0) ? 0.0 : double(pg[i]);
    };
    std::vector<double> sum_g(size_t(l.c)), sum_gx(size_t(l.c)), dx(size_t(l.n * l.c * l.s));
    for (int64_t c = 0; c < l.c; ++c)
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s) {
          sum_g[c] += grad(n, c, s);
          sum_gx[c] += grad(n, c, s) * xhat(n, c, s);
        }
    for (int64_t c = 0; c < l.c; ++c) {
      const double scale = inv[c] * (weight.defined() ? double(weight.data<T>()[c]) : 1.0);
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s)
          dx[(n * l.c + c) * l.s + s] = scale * (grad(n, c, s) - sum_g[c] / m - xhat(n, c, s) * sum_gx[c] / m);
    }
    store<T>(gx, dx);
    if (gw) store<T>(*gw, sum_gx);
    if (gb) store<T>(*gb, sum_g);
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
