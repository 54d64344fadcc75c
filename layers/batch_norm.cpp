#include "layers/batch_norm.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "layers/layer_common.h"

namespace rg {

using namespace layers_detail;

namespace {

// x seen as [N, C, S]: element (n, c, s) at n * batch_stride + c * S + s.
struct Layout {
  int64_t n, c, s, batch_stride;
};

Layout layout_of(const Tensor& x) {
  const int64_t s = x.dim() == 4 ? x.size(2) * x.size(3) : 1;
  return {x.size(0), x.size(1), s, x.strides()[0]};
}

// Per-channel mean and (biased) variance of x, in double.
template <typename T>
void channel_moments(const T* x, const Layout& l, std::vector<double>& mean, std::vector<double>& var) {
  mean.assign(l.c, 0.0);
  var.assign(l.c, 0.0);
  const double m = double(l.n * l.s);
#pragma omp parallel for
  for (int64_t c = 0; c < l.c; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t s = 0; s < l.s; ++s) sum += x[n * l.batch_stride + c * l.s + s];
    const double mu = sum / m;
    double sq = 0;
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t s = 0; s < l.s; ++s) {
        const double d = x[n * l.batch_stride + c * l.s + s] - mu;
        sq += d * d;
      }
    mean[c] = mu;
    var[c] = sq / m;
  }
}

}  // namespace

Tensor batch_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
  RG_CHECK(x_in.dim() == 4 || x_in.dim() == 2, "batch_norm: expected input [N, C, H, W] or [N, C], got ",
           shape_str(x_in.shape()));
  const int64_t channels = x_in.size(1);
  for (const auto& [t, what] : {std::pair{weight, "the weight"}, {bias, "the bias"}, {running_mean, "running_mean"},
                                {running_var, "running_var"}}) {
    if (!t.defined()) continue;
    check_kind(x_in, t, "batch_norm", what);
    RG_CHECK(t.dim() == 1 && t.size(0) == channels, "batch_norm: ", what, " should be [", channels, "], got ",
             shape_str(t.shape()));
  }
  RG_CHECK(running_mean.defined() == running_var.defined(), "batch_norm: give both running statistics or neither");
  RG_CHECK(training || running_mean.defined(), "batch_norm: eval mode needs running statistics");
  require_cpu(x_in, "batch_norm");
  const Tensor x = x_in.dim() == 4 ? samples_contiguous(x_in) : as_contiguous(x_in);
  const Layout l = layout_of(x);
  RG_CHECK(!training || l.n * l.s > 1, "batch_norm: training mode needs more than one value per channel, got input ",
           shape_str(x_in.shape()));

  Tensor y = Tensor::empty(x_in.shape(), x.dtype(), x.device());
  // The statistics used, and 1 / sqrt(var + eps), kept for the backward.
  Tensor mean_used = Tensor::empty({channels}, DType::Float64), invstd = Tensor::empty({channels}, DType::Float64);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    std::vector<double> mean, var;
    if (training) {
      channel_moments(px, l, mean, var);
      if (running_mean.defined()) {  // PyTorch updates with the unbiased variance
        const double m = double(l.n * l.s);
        T* rm = running_mean.data<T>();
        T* rv = running_var.data<T>();
        for (int64_t c = 0; c < channels; ++c) {
          rm[c] = T((1 - momentum) * rm[c] + momentum * mean[c]);
          rv[c] = T((1 - momentum) * rv[c] + momentum * var[c] * m / (m - 1));
        }
      }
    } else {
      const auto rm = as_contiguous(running_mean).to_vector<double>(), rv = as_contiguous(running_var).to_vector<double>();
      mean = rm;
      var = rv;
    }
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    T* py = y.data<T>();
    double* pm = mean_used.data<double>();
    double* pi = invstd.data<double>();
#pragma omp parallel for
    for (int64_t c = 0; c < channels; ++c) {
      pm[c] = mean[c];
      pi[c] = 1.0 / std::sqrt(var[c] + eps);
      const double scale = pi[c] * (pw ? double(pw[c]) : 1.0), shift = (pb ? double(pb[c]) : 0.0) - mean[c] * scale;
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t s = 0; s < l.s; ++s)
          py[(n * channels + c) * l.s + s] = T(px[n * l.batch_stride + c * l.s + s] * scale + shift);
    }
  });

  return record("batch_norm", y, {x_in, weight, bias},
                [x = x.detach(), w = weight.defined() ? weight.detach() : Tensor(), has_bias = bias.defined(), mean_used,
                 invstd, training, l](const Tensor& gy_in) -> Grads {
                  const Tensor gy = as_contiguous(gy_in);
                  Tensor gx = Tensor::empty(gy.shape(), x.dtype(), x.device());
                  Tensor gw = w.defined() ? Tensor::empty({l.c}, x.dtype(), x.device()) : Tensor();
                  Tensor gb = has_bias ? Tensor::empty({l.c}, x.dtype(), x.device()) : Tensor();
                  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
                    using T = typename decltype(tag)::type;
                    const T *px = x.data<T>(), *pg = gy.data<T>();
                    const T* pw = w.defined() ? w.data<T>() : nullptr;
                    const double *pm = mean_used.data<double>(), *pi = invstd.data<double>();
                    const double m = double(l.n * l.s);
#pragma omp parallel for
                    for (int64_t c = 0; c < l.c; ++c) {
                      // dbeta = sum(gy), dgamma = sum(gy * xhat)
                      double sum_g = 0, sum_gx = 0;
                      for (int64_t n = 0; n < l.n; ++n)
                        for (int64_t s = 0; s < l.s; ++s) {
                          const double g = pg[(n * l.c + c) * l.s + s];
                          sum_g += g;
                          sum_gx += g * (px[n * l.batch_stride + c * l.s + s] - pm[c]) * pi[c];
                        }
                      if (gw.defined()) gw.data<T>()[c] = T(sum_gx);
                      if (gb.defined()) gb.data<T>()[c] = T(sum_g);
                      const double scale = pi[c] * (pw ? double(pw[c]) : 1.0);
                      T* out = gx.data<T>();
                      for (int64_t n = 0; n < l.n; ++n)
                        for (int64_t s = 0; s < l.s; ++s) {
                          const int64_t i = (n * l.c + c) * l.s + s;
                          const double g = pg[i];
                          if (!training) {  // the statistics are constants
                            out[i] = T(g * scale);
                          } else {  // they depend on x too: dx = scale (g - dbeta/M - xhat dgamma/M)
                            const double xhat = (px[n * l.batch_stride + c * l.s + s] - pm[c]) * pi[c];
                            out[i] = T(scale * (g - sum_g / m - xhat * sum_gx / m));
                          }
                        }
                    }
                  });
                  return {gx, gw, gb};
                });
}

}  // namespace rg
