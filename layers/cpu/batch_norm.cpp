// Batch norm on the CPU, the fast path, in the four steps of layers/kernels.h: the channels in
// parallel; the statistics in one pass per channel (sum and sum of squares, shifted by the
// channel's first element so the difference of the two stays accurate), the normalization in one
// (the ReLU included when fused); the backward's sums in one and its gx in one, the ReLU's mask
// applied on the way. The passes over each row are the vector kernels of
// tensor/cpu/vector_kernels.h, at the CPU's instruction-set level; sums run in double over eight
// independent lanes. (The definitions are in reference.cpp.)
#include <cmath>
#include <utility>
#include <vector>

#include "layers/cpu/cpu_kernels.h"
#include "tensor/cpu/vector_kernels.h"

namespace rg::cpu {

namespace {

// Channel c's normalization as y = x * scale + shift: scale = weight / sqrt(var + eps), shift =
// bias - mean * scale (weight 1 and bias 0 when undefined).
template <typename T>
std::pair<T, T> scale_shift(const Tensor& weight, const Tensor& bias, int64_t c, double mean, double var, double eps) {
  const double a = 1.0 / std::sqrt(var + eps) * (weight.defined() ? double(weight.data<T>()[c]) : 1.0);
  return {T(a), T((bias.defined() ? double(bias.data<T>()[c]) : 0.0) - mean * a)};
}

// The gradient row of (n, c) as the backward reads it: gy's, or after a fused ReLU gy masked by its
// output relu_y, written to `masked` (a row of scratch, or gx's own row).
template <typename T>
const T* grad_row(const T* gy, const T* relu_y, const ChannelLayout& l, int64_t n, int64_t c, T* masked) {
  const int64_t row = (n * l.c + c) * l.s;
  if (!relu_y) return gy + row;
  vector_ops<T>().relu_mask(relu_y + row, gy + row, masked, l.s);
  return masked;
}

}  // namespace

void batch_norm_stats(const Tensor& x, Tensor& mean, Tensor& var) {
  const ChannelLayout l = channel_layout(x);
  const double m = double(l.n * l.s);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    const VectorOps<T>& v = vector_ops<T>();
    parallel_for(l.c, grain_for(l.n * l.s), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const double k = m > 0 ? double(px[c * l.s]) : 0.0;  // the shift
        double sum = 0, sq = 0;
        for (int64_t n = 0; n < l.n; ++n) v.shifted_sums(px + n * l.batch_stride + c * l.s, l.s, k, sum, sq);
        const double mu = m > 0 ? sum / m : 0.0;
        mean.data<T>()[c] = T(mu + k);
        var.data<T>()[c] = T(m > 0 ? std::max(sq / m - mu * mu, 0.0) : 0.0);
      }
    });
  });
}

void batch_norm_elemt(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                      double eps, bool relu, Tensor& y) {
  const ChannelLayout l = channel_layout(x);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    const VectorOps<T>& v = vector_ops<T>();
    parallel_for(l.c, grain_for(l.n * l.s), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const auto [scale, shift] = scale_shift<T>(weight, bias, c, mean.data<T>()[c], var.data<T>()[c], eps);
        for (int64_t n = 0; n < l.n; ++n)
          v.affine(px + n * l.batch_stride + c * l.s, y.data<T>() + (n * l.c + c) * l.s, l.s, scale, shift, relu);
      }
    });
  });
}

void batch_norm_backward_reduce(const Tensor& x, const Tensor& gy, const Tensor& relu_y, const Tensor& mean,
                                Tensor& sum_dy, Tensor& sum_dy_xmu) {
  const ChannelLayout l = channel_layout(x);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *pg = gy.data<T>(), *py = relu_y.defined() ? relu_y.data<T>() : nullptr;
    const VectorOps<T>& v = vector_ops<T>();
    parallel_for(l.c, grain_for(l.n * l.s), [&](int64_t c0, int64_t c1) {
      std::vector<T> masked(py ? size_t(l.s) : 0);
      for (int64_t c = c0; c < c1; ++c) {
        double dy = 0, dy_xmu = 0;
        for (int64_t n = 0; n < l.n; ++n)
          v.grad_sums(grad_row(pg, py, l, n, c, masked.data()), px + n * l.batch_stride + c * l.s, l.s,
                      double(mean.data<T>()[c]), dy, dy_xmu);
        sum_dy.data<double>()[c] = dy;
        sum_dy_xmu.data<double>()[c] = dy_xmu;
      }
    });
  });
}

void batch_norm_backward_elemt(const Tensor& x, const Tensor& weight, const Tensor& gy, const Tensor& relu_y,
                               const Tensor& mean, const Tensor& var, double eps, const Tensor& sum_dy,
                               const Tensor& sum_dy_xmu, int64_t count, Tensor& gx) {
  const ChannelLayout l = channel_layout(x);
  const double m = double(count);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *pg = gy.data<T>(), *py = relu_y.defined() ? relu_y.data<T>() : nullptr;
    const VectorOps<T>& v = vector_ops<T>();
    parallel_for(l.c, grain_for(l.n * l.s), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        // gx = scale * (gy - sum_dy / m - (x - mean) * invstd^2 * sum_dy_xmu / m) = a * gy + b * (x - mean) + d
        const double invstd = 1.0 / std::sqrt(double(var.data<T>()[c]) + eps);
        const double scale = invstd * (weight.defined() ? double(weight.data<T>()[c]) : 1.0);
        const T a = T(scale), b = T(-scale * invstd * invstd * sum_dy_xmu.data<double>()[c] / m),
                d = T(-scale * sum_dy.data<double>()[c] / m), mu = mean.data<T>()[c];
        for (int64_t n = 0; n < l.n; ++n) {
          T* out = gx.data<T>() + (n * l.c + c) * l.s;
          v.grad_affine(grad_row(pg, py, l, n, c, out), px + n * l.batch_stride + c * l.s, out, l.s, a, b, mu, d);
        }
      }
    });
  });
}

}  // namespace rg::cpu
