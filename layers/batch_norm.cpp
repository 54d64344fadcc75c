#include "layers/batch_norm.h"

#include "autograd/grad_mode.h"
#include "layers/kernels.h"
#include "layers/layer_common.h"

namespace rg {

using namespace detail;

BatchNormOutput batch_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                           const Tensor& running_var, bool training, double eps, bool relu) {
  RG_CHECK(x_in.dim() == 4 || x_in.dim() == 2, "batch_norm: expected input [N, C, H, W] or [N, C], got ",
           shape_str(x_in.shape()));
  const int64_t channels = x_in.size(1);
  for (const auto& [t, what] : {std::pair{weight, "the weight"},
                                {bias, "the bias"},
                                {running_mean, "running_mean"},
                                {running_var, "running_var"}}) {
    if (!t.defined()) continue;
    check_same_kind(x_in, t, "batch_norm", what);
    RG_CHECK(t.dim() == 1 && t.size(0) == channels, "batch_norm: ", what, " should be [", channels, "], got ",
             shape_str(t.shape()));
  }
  RG_CHECK(training || (running_mean.defined() && running_var.defined()),
           "batch_norm: eval mode needs running statistics");
  const Tensor x = x_in.dim() == 4 ? samples_contiguous(x_in) : contiguous_untracked(x_in);
  const int64_t per_channel = x.numel() / channels;
  RG_CHECK(!training || per_channel > 1, "batch_norm: training mode needs more than one value per channel, got input ",
           shape_str(x_in.shape()));
  const LayerKernels& kernels = layer_kernels_for(x.device());
  const Tensor w = weight.defined() ? contiguous_untracked(weight) : weight,
               b = bias.defined() ? contiguous_untracked(bias) : bias;
  const Device device = x.device();
  BatchNormOutput out{Tensor::empty(x_in.shape(), x.dtype(), device)};

  if (!training) {
    const Tensor rm = contiguous_untracked(running_mean), rv = contiguous_untracked(running_var);
    kernels.batch_norm_eval(x, w, b, rm, rv, eps, relu, out.y);
    // The statistics are constants: y = x * scale + shift with scale = weight / sqrt(var + eps), so
    // gx = gy * scale, gweight = sum(gy * xhat), gbias = sum(gy). Composed from tensor ops (any device).
    out.y = record(relu ? "batch_norm_relu" : "batch_norm", out.y, {x_in, weight, bias},
                   [x = x.detach(), w = w.defined() ? w.detach() : w, rm, rv, eps,
                    relu_y = relu ? out.y.detach() : Tensor()](const Tensor& gy_in, const NeedsGrad& needs) {
                     const Tensor gy = relu_y.defined() ? gy_in * gt(relu_y, scalar_like(relu_y, 0)) : gy_in;
                     const Shape per_channel_shape = x.dim() == 4 ? Shape{1, x.size(1), 1, 1} : Shape{1, x.size(1)};
                     const Dims over = x.dim() == 4 ? Dims{0, 2, 3} : Dims{0};
                     const Tensor invstd = reshape(1.0 / sqrt(rv + eps), per_channel_shape);
                     Grads grads(3);
                     if (needs[0]) grads[0] = gy * (w.defined() ? invstd * reshape(w, per_channel_shape) : invstd);
                     if (needs[1]) grads[1] = sum(gy * (x - reshape(rm, per_channel_shape)) * invstd, over);
                     if (needs[2]) grads[2] = sum(gy, over);
                     return grads;
                   });
    return out;
  }

  Tensor mean = Tensor::empty({channels}, x.dtype(), device), invstd = Tensor::empty({channels}, x.dtype(), device);
  out.batch_var = Tensor::empty({channels}, x.dtype(), device);
  kernels.batch_norm_train(x, w, b, eps, relu, out.y, mean, invstd, out.batch_var);
  out.batch_mean = mean;
  out.y = record(relu ? "batch_norm_relu" : "batch_norm", out.y, {x_in, weight, bias},
                 [x = x.detach(), w = w.defined() ? w.detach() : w, mean, invstd, eps, &kernels,
                  relu_y = relu ? out.y.detach() : Tensor()](const Tensor& gy_in, const NeedsGrad& needs) {
                   const Tensor gy = contiguous_untracked(gy_in);
                   Grads grads(3);
                   // cuDNN computes all three at once; the input's gradient is almost always needed.
                   grads[0] = Tensor::empty(gy.shape(), x.dtype(), x.device());
                   if (needs[1]) grads[1] = Tensor::empty(mean.shape(), x.dtype(), x.device());
                   if (needs[2]) grads[2] = Tensor::empty(mean.shape(), x.dtype(), x.device());
                   kernels.batch_norm_backward(x, w, gy, relu_y, mean, invstd, eps, grads[0],
                                               needs[1] ? &grads[1] : nullptr, needs[2] ? &grads[2] : nullptr);
                   return grads;
                 });
  return out;
}

}  // namespace rg
