#include "layers/batch_norm.h"

#include "layers/kernels.h"
#include "layers/layer_common.h"
#include "tensor/factory.h"

namespace rg {

namespace detail {

BatchNormInputs batch_norm_inputs(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Tensor& running_mean, const Tensor& running_var) {
  RG_CHECK(x.dim() == 4 || x.dim() == 2, op, ": expected input [N, C, H, W] or [N, C], got ", shape_str(x.shape()));
  const int64_t channels = x.size(1);
  for (const auto& [t, what] : {std::pair{weight, "the weight"},
                                {bias, "the bias"},
                                {running_mean, "running_mean"},
                                {running_var, "running_var"}}) {
    if (!t.defined()) continue;
    check_same_kind(x, t, op, what);
    RG_CHECK(t.dim() == 1 && t.size(0) == channels, op, ": ", what, " should be [", channels, "], got ",
             shape_str(t.shape()));
  }
  auto untracked = [](const Tensor& t) { return t.defined() ? contiguous_untracked(t) : t; };
  return {x,
          weight,
          bias,
          x.dim() == 4 ? samples_contiguous(x) : contiguous_untracked(x),
          untracked(weight),
          untracked(bias)};
}

namespace {

// What the backward reads of the forward.
struct Saved {
  Tensor x, weight, relu_y;  // relu_y: the output when the ReLU was fused, else undefined
  Tensor mean, var;
  double eps;
  StatisticsSums statistics_sums;
};

// gx from the global sums (the statistics' own); gweight = sum gy * xhat and gbias = sum gy from
// this process's (with data parallelism, the gradient reducer adds the ranks' up).
Grads backward(const Saved& s, const Tensor& gy_in, const NeedsGrad& needs) {
  const Tensor gy = contiguous_untracked(gy_in);
  const int64_t channels = s.mean.numel();
  const LayerKernels& kernels = layer_kernels_for(s.x.device());
  Tensor local = zeros({2 * channels}, DType::Float64, s.x.device());
  Tensor dy = slice(local, 0, 0, channels), dy_xmu = slice(local, 0, channels, 2 * channels);
  if (s.statistics_sums || needs[1] || needs[2])
    kernels.batch_norm_backward_reduce(s.x, gy, s.relu_y, s.mean, dy, dy_xmu);
  // Constant statistics: sums of zero leave gx = weight * invstd * gy.
  const auto [global, count] = s.statistics_sums
                                   ? s.statistics_sums(local)
                                   : std::pair{zeros({2 * channels}, DType::Float64, s.x.device()), int64_t(1)};
  Grads grads(3);
  if (needs[0]) {
    grads[0] = Tensor::empty(gy.shape(), gy.dtype(), gy.device());
    kernels.batch_norm_backward_elemt(s.x, s.weight, gy, s.relu_y, s.mean, s.var, s.eps, slice(global, 0, 0, channels),
                                      slice(global, 0, channels, 2 * channels), count, grads[0]);
  }
  if (needs[1]) grads[1] = (dy_xmu / sqrt(s.var.to(DType::Float64) + s.eps)).to(s.x.dtype());
  if (needs[2]) grads[2] = dy.to(s.x.dtype());
  return grads;
}

}  // namespace

Tensor normalize(const char* name, const BatchNormInputs& in, const Tensor& mean, const Tensor& var, double eps,
                 bool relu, StatisticsSums statistics_sums) {
  Tensor y = Tensor::empty(in.x_in.shape(), in.x.dtype(), in.x.device());
  layer_kernels_for(in.x.device()).batch_norm_elemt(in.x, in.weight, in.bias, mean, var, eps, relu, y);
  Saved saved{in.x.detach(),
              in.weight.defined() ? in.weight.detach() : in.weight,
              relu ? y.detach() : Tensor(),
              mean,
              var,
              eps,
              std::move(statistics_sums)};
  return record(
      name, y, {in.x_in, in.weight_in, in.bias_in},
      [saved = std::move(saved)](const Tensor& gy, const NeedsGrad& needs) { return backward(saved, gy, needs); });
}

}  // namespace detail

using namespace detail;

BatchNormOutput batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                           const Tensor& running_var, bool training, double eps, bool relu) {
  const BatchNormInputs in = batch_norm_inputs("batch_norm", x, weight, bias, running_mean, running_var);
  const char* name = relu ? "batch_norm_relu" : "batch_norm";
  if (!training) {
    RG_CHECK(running_mean.defined() && running_var.defined(), "batch_norm: eval mode needs running statistics");
    return {
        normalize(name, in, contiguous_untracked(running_mean), contiguous_untracked(running_var), eps, relu, nullptr)};
  }
  const int64_t channels = x.size(1), count = x.numel() / channels;
  RG_CHECK(count > 1, "batch_norm: training mode needs more than one value per channel, got input ",
           shape_str(x.shape()));
  Tensor mean = Tensor::empty({channels}, x.dtype(), x.device()),
         var = Tensor::empty({channels}, x.dtype(), x.device());
  layer_kernels_for(x.device()).batch_norm_stats(in.x, mean, var);
  // This batch's sums are the statistics' own.
  const Tensor y = normalize(name, in, mean, var, eps, relu, [count](const Tensor& local) {
    return std::pair{local, count};
  });
  return {y, mean, var * (double(count) / double(count - 1))};  // the unbiased variance, for the running var
}

}  // namespace rg
