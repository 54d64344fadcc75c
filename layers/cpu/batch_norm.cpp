// Batch norm on the CPU, the fast path: the channels in parallel; per channel one pass for the
// statistics (sum and sum of squares, shifted by the channel's first element so the difference of
// the two stays accurate) and one for the output, the ReLU included when fused; the backward one
// pass for its two sums and one for gx, the ReLU's mask applied on the way. The passes over each
// row are the vector kernels of tensor/cpu/vector_kernels.h, at the CPU's instruction-set level;
// sums run in double over eight independent lanes.
// (The definitions are in reference.cpp.)
#include <cmath>
#include <vector>

#include "layers/cpu/cpu_kernels.h"
#include "tensor/cpu/vector_kernels.h"

namespace rg::cpu {

namespace {

// y = x * scale[c] + shift[c] (then max(0, y) with relu) for the channels [c0, c1).
template <typename T>
void affine(const T* px, const ChannelLayout& l, const std::vector<T>& scale, const std::vector<T>& shift, bool relu,
            T* py, int64_t c0, int64_t c1) {
  const VectorOps<T>& v = vector_ops<T>();
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t n = 0; n < l.n; ++n)
      v.affine(px + n * l.batch_stride + c * l.s, py + (n * l.c + c) * l.s, l.s, scale[c], shift[c], relu);
}

// scale = invstd * weight, shift = bias - mean * scale (weight 1 and bias 0 when undefined).
template <typename T>
void scale_shift(const Tensor& weight, const Tensor& bias, int64_t c, double mean, double invstd, std::vector<T>& scale,
                 std::vector<T>& shift) {
  const double a = invstd * (weight.defined() ? double(weight.data<T>()[c]) : 1.0);
  scale[c] = T(a);
  shift[c] = T((bias.defined() ? double(bias.data<T>()[c]) : 0.0) - mean * a);
}

}  // namespace

void batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool relu, Tensor& y,
                      Tensor& mean, Tensor& invstd, Tensor& unbiased_var) {
  const ChannelLayout l = channel_layout(x);
  const double m = double(l.n * l.s);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    const VectorOps<T>& v = vector_ops<T>();
    std::vector<T> scale(size_t(l.c)), shift(size_t(l.c));
    parallel_for(l.c, grain_for(l.n * l.s), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const double k = px[c * l.s];  // the shift
        double sum = 0, sq = 0;
        for (int64_t n = 0; n < l.n; ++n) v.shifted_sums(px + n * l.batch_stride + c * l.s, l.s, k, sum, sq);
        const double mu = sum / m, var = std::max(sq / m - mu * mu, 0.0), inv = 1.0 / std::sqrt(var + eps);
        mean.data<T>()[c] = T(mu + k);
        invstd.data<T>()[c] = T(inv);
        unbiased_var.data<T>()[c] = T(var * m / (m - 1));
        scale_shift<T>(weight, bias, c, mu + k, inv, scale, shift);
      }
      affine(px, l, scale, shift, relu, y.data<T>(), c0, c1);
    });
  });
}

void batch_norm_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                     double eps, bool relu, Tensor& y) {
  const ChannelLayout l = channel_layout(x);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<T> scale(size_t(l.c)), shift(size_t(l.c));
    parallel_for(l.c, grain_for(l.n * l.s), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        scale_shift<T>(weight, bias, c, mean.data<T>()[c], 1.0 / std::sqrt(double(var.data<T>()[c]) + eps), scale,
                       shift);
      affine(x.data<T>(), l, scale, shift, relu, y.data<T>(), c0, c1);
    });
  });
}

void batch_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& gy, const Tensor& relu_y,
                         const Tensor& mean, const Tensor& invstd, double /*eps: in invstd*/, Tensor& gx, Tensor* gw,
                         Tensor* gb) {
  const ChannelLayout l = channel_layout(x);
  const double m = double(l.n * l.s);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *pg = gy.data<T>(), *pm = mean.data<T>(), *pi = invstd.data<T>();
    const T* py = relu_y.defined() ? relu_y.data<T>() : nullptr;
    T* out = gx.data<T>();
    const VectorOps<T>& v = vector_ops<T>();
    parallel_for(l.c, grain_for(l.n * l.s), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        // gbias = sum(gy), gweight = sum(gy * xhat) = invstd * sum(gy * (x - mean))
        const double mu = pm[c], inv = pi[c];
        double sum_g = 0, sum_gd = 0;
        for (int64_t n = 0; n < l.n; ++n) {
          const int64_t row = (n * l.c + c) * l.s;
          const T* xr = px + n * l.batch_stride + c * l.s;
          const T* gr = pg + row;
          if (py) {  // after a fused ReLU: the gradient only where its output was positive, kept in gx
            v.relu_mask(py + row, gr, out + row, l.s);
            gr = out + row;
          }
          v.grad_sums(gr, xr, l.s, mu, sum_g, sum_gd);
        }
        const double sum_gx = sum_gd * inv;
        if (gw) gw->data<T>()[c] = T(sum_gx);
        if (gb) gb->data<T>()[c] = T(sum_g);
        // gx = scale * (gy - sum_g / m - xhat * sum_gx / m) = a * gy + b * (x - mean) + d
        const double scale = inv * (weight.defined() ? double(weight.data<T>()[c]) : 1.0);
        const T ta = T(scale), tb = T(-scale * inv * sum_gx / m), td = T(-scale * sum_g / m), tmu = T(mu);
        for (int64_t n = 0; n < l.n; ++n) {
          const T* xr = px + n * l.batch_stride + c * l.s;
          T* o = out + (n * l.c + c) * l.s;
          const T* gr = py ? o : pg + (n * l.c + c) * l.s;  // the masked gradient, in place
          v.grad_affine(gr, xr, o, l.s, ta, tb, tmu, td);
        }
      }
    });
  });
}

}  // namespace rg::cpu
