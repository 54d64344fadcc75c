// Batch norm on the CPU, the fast path: OpenMP over channels, one pass per channel for the
// statistics and one for the output. (The definitions are in reference.cpp.)
#include <cmath>
#include <vector>

#include "layers/cpu/cpu_kernels.h"

namespace rg::cpu {

namespace {

// y = x * scale[c] + shift[c], with scale = invstd * weight and shift = bias - mean * scale.
template <typename T>
void affine(const T* px, const ChannelLayout& l, const std::vector<double>& scale, const std::vector<double>& shift,
            T* py) {
#pragma omp parallel for
  for (int64_t c = 0; c < l.c; ++c)
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t s = 0; s < l.s; ++s) py[(n * l.c + c) * l.s + s] = T(px[n * l.batch_stride + c * l.s + s] * scale[c] + shift[c]);
}

template <typename T>
void scale_shift(const Tensor& weight, const Tensor& bias, const std::vector<double>& mean,
                 const std::vector<double>& invstd, std::vector<double>& scale, std::vector<double>& shift) {
  const size_t channels = mean.size();
  scale.resize(channels);
  shift.resize(channels);
  for (size_t c = 0; c < channels; ++c) {
    scale[c] = invstd[c] * (weight.defined() ? double(weight.data<T>()[c]) : 1.0);
    shift[c] = (bias.defined() ? double(bias.data<T>()[c]) : 0.0) - mean[c] * scale[c];
  }
}

}  // namespace

void batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor& y, Tensor& mean,
                      Tensor& invstd, Tensor& unbiased_var) {
  const ChannelLayout l = channel_layout(x);
  const double m = double(l.n * l.s);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    std::vector<double> mu(size_t(l.c)), inv(size_t(l.c)), scale, shift;
#pragma omp parallel for
    for (int64_t c = 0; c < l.c; ++c) {
      double sum = 0;
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s) sum += px[n * l.batch_stride + c * l.s + s];
      mu[c] = sum / m;
      double sq = 0;
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s) {
          const double d = px[n * l.batch_stride + c * l.s + s] - mu[c];
          sq += d * d;
        }
      inv[c] = 1.0 / std::sqrt(sq / m + eps);
      mean.data<T>()[c] = T(mu[c]);
      invstd.data<T>()[c] = T(inv[c]);
      unbiased_var.data<T>()[c] = T(sq / (m - 1));
    }
    scale_shift<T>(weight, bias, mu, inv, scale, shift);
    affine(px, l, scale, shift, y.data<T>());
  });
}

void batch_norm_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                     double eps, Tensor& y) {
  const ChannelLayout l = channel_layout(x);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<double> mu(size_t(l.c)), inv(size_t(l.c)), scale, shift;
    for (int64_t c = 0; c < l.c; ++c) {
      mu[c] = mean.data<T>()[c];
      inv[c] = 1.0 / std::sqrt(double(var.data<T>()[c]) + eps);
    }
    scale_shift<T>(weight, bias, mu, inv, scale, shift);
    affine(x.data<T>(), l, scale, shift, y.data<T>());
  });
}

void batch_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& gy, const Tensor& mean,
                         const Tensor& invstd, Tensor& gx, Tensor* gw, Tensor* gb) {
  const ChannelLayout l = channel_layout(x);
  const double m = double(l.n * l.s);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *pg = gy.data<T>(), *pm = mean.data<T>(), *pi = invstd.data<T>();
    T* out = gx.data<T>();
#pragma omp parallel for
    for (int64_t c = 0; c < l.c; ++c) {
      // gbias = sum(gy), gweight = sum(gy * xhat)
      double sum_g = 0, sum_gx = 0;
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s) {
          const double g = pg[(n * l.c + c) * l.s + s];
          sum_g += g;
          sum_gx += g * (px[n * l.batch_stride + c * l.s + s] - pm[c]) * pi[c];
        }
      if (gw) gw->data<T>()[c] = T(sum_gx);
      if (gb) gb->data<T>()[c] = T(sum_g);
      const double scale = pi[c] * (weight.defined() ? double(weight.data<T>()[c]) : 1.0);
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s) {
          const int64_t i = (n * l.c + c) * l.s + s;
          const double xhat = (px[n * l.batch_stride + c * l.s + s] - pm[c]) * pi[c];
          out[i] = T(scale * (pg[i] - sum_g / m - xhat * sum_gx / m));
        }
    }
  });
}

}  // namespace rg::cpu
