#include "layers/sync_batch_norm.h"

#include "autograd/grad_mode.h"
#include "layers/kernels.h"
#include "layers/layer_common.h"
#include "tensor/factory.h"

namespace rg {

using namespace detail;

namespace {

Dims channel_dims(const Tensor& x) { return x.dim() == 4 ? Dims{0, 2, 3} : Dims{0}; }

// Per channel, this rank's [count, sum x, sum x^2] (float64, [1 + 2C]): from the batch-norm kernel's
// mean and variance of the slice (the values it normalizes by are dropped), or summed directly
// when the slice has fewer than two values a channel.
Tensor local_sums(const Tensor& x, const LayerKernels& kernels, double eps) {
  const int64_t channels = x.size(1), count = x.numel() / channels;
  const Tensor n = full({1}, double(count), DType::Float64, x.device());
  if (count < 2) {
    const Tensor x64 = x.to(DType::Float64);
    return cat({n, sum(x64, channel_dims(x)), sum(x64 * x64, channel_dims(x))}, 0);
  }
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device()), mean = Tensor::empty({channels}, x.dtype(), x.device()),
         invstd = Tensor::empty({channels}, x.dtype(), x.device()),
         var = Tensor::empty({channels}, x.dtype(), x.device());
  kernels.batch_norm_train(x, Tensor(), Tensor(), eps, false, y, mean, invstd, var);
  const Tensor mean64 = mean.to(DType::Float64);
  const Tensor biased64 = var.to(DType::Float64) * (double(count - 1) / double(count));
  return cat({n, mean64 * double(count), (biased64 + mean64 * mean64) * double(count)}, 0);
}

SyncStatistics global_statistics(const Tensor& x, const LayerKernels& kernels, double eps, Communicator& comm) {
  NoGradGuard no_grad;
  const int64_t channels = x.size(1);
  Tensor packed = local_sums(x, kernels, eps);
  comm.allreduce(packed, ReduceOp::Sum);
  SyncStatistics stats;
  stats.count = int64_t(slice(packed, 0, 0, 1).item());
  RG_CHECK(stats.count > 1, "sync_batch_norm: training mode needs more than one value per channel over all ranks, got ",
           stats.count);
  const Tensor mean = slice(packed, 0, 1, 1 + channels) * (1.0 / double(stats.count));
  const Tensor var = slice(packed, 0, 1 + channels, 1 + 2 * channels) * (1.0 / double(stats.count)) - mean * mean;
  stats.mean = mean.to(x.dtype());
  stats.var = var.to(x.dtype());
  return stats;
}

// The input's gradient over every rank. The kernel's backward, given the global mean and invstd,
// gives this slice's sums gb = sum(gy), gw = sum(gy * xhat) and gx with this slice's count m:
//   gx_kernel = w invstd (gy - gb / m - xhat gw / m);
// with the sums GB, GW over every rank and their count M the gradient is
//   gx = w invstd (gy - GB / M - xhat GW / M) = gx_kernel + A + B x   (per channel)
//   B = w invstd^2 (gw / m - GW / M),  A = w invstd (gb / m - GB / M) - B mean,
// one more pass, by the eval kernel (x * B + A). Returns gx, and this rank's gw, gb.
Grads sync_backward(const Tensor& x, const Tensor& w, const Tensor& gy, const Tensor& relu_y, const Tensor& mean,
                    const Tensor& invstd, int64_t count, double eps, const LayerKernels& kernels, Communicator& comm) {
  const int64_t channels = x.size(1), m = x.numel() / channels;
  Grads grads(3);
  grads[0] = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor gw = zeros({channels}, x.dtype(), x.device()), gb = zeros({channels}, x.dtype(), x.device());
  if (m > 0) kernels.batch_norm_backward(x, w, gy, relu_y, mean, invstd, eps, grads[0], &gw, &gb);
  Tensor global = cat({gb.to(DType::Float64), gw.to(DType::Float64)}, 0);
  comm.allreduce(global, ReduceOp::Sum);
  if (m > 0) {
    const Tensor gb64 = gb.to(DType::Float64), gw64 = gw.to(DType::Float64), inv64 = invstd.to(DType::Float64);
    const Tensor scale = w.defined() ? inv64 * w.to(DType::Float64) : inv64;
    const Tensor b =
        scale * inv64 * (gw64 * (1.0 / double(m)) - slice(global, 0, channels, 2 * channels) * (1.0 / double(count)));
    const Tensor a = scale * (gb64 * (1.0 / double(m)) - slice(global, 0, 0, channels) * (1.0 / double(count))) -
                     b * mean.to(DType::Float64);
    Tensor correction = Tensor::empty(x.shape(), x.dtype(), x.device());
    kernels.batch_norm_eval(x, b.to(x.dtype()), a.to(x.dtype()), zeros({channels}, x.dtype(), x.device()),
                            full({channels}, 1.0 - eps, x.dtype(), x.device()), eps, false, correction);
    grads[0] = grads[0] + correction;
  }
  grads[1] = gw;
  grads[2] = gb;
  return grads;
}

}  // namespace

BatchNormOutput sync_batch_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias, double eps, bool relu,
                                Communicator& comm, SyncStatistics& stats, bool measure) {
  RG_CHECK(x_in.dim() == 4 || x_in.dim() == 2, "sync_batch_norm: expected input [N, C, H, W] or [N, C], got ",
           shape_str(x_in.shape()));
  const int64_t channels = x_in.size(1);
  for (const auto& [t, what] : {std::pair{weight, "the weight"}, {bias, "the bias"}}) {
    if (!t.defined()) continue;
    check_same_kind(x_in, t, "sync_batch_norm", what);
    RG_CHECK(t.dim() == 1 && t.size(0) == channels, "sync_batch_norm: ", what, " should be [", channels, "], got ",
             shape_str(t.shape()));
  }
  const Tensor x = contiguous_untracked(x_in);
  const LayerKernels& kernels = layer_kernels_for(x.device());
  if (measure) stats = global_statistics(x, kernels, eps, comm);
  RG_CHECK(stats.mean.defined() && stats.mean.numel() == channels,
           "sync_batch_norm: no statistics of this batch to reuse (measure it first)");
  const Tensor w = weight.defined() ? contiguous_untracked(weight) : weight;
  const Tensor b = bias.defined() ? contiguous_untracked(bias) : bias;

  BatchNormOutput out{Tensor::empty(x.shape(), x.dtype(), x.device())};
  kernels.batch_norm_eval(x, w, b, stats.mean, stats.var, eps, relu, out.y);
  Tensor invstd;
  {
    NoGradGuard no_grad;
    out.batch_mean = stats.mean;
    out.batch_var = stats.var * (double(stats.count) / double(stats.count - 1));  // unbiased, for the running var
    invstd = 1.0 / sqrt(stats.var + eps);
  }
  out.y =
      record(relu ? "sync_batch_norm_relu" : "sync_batch_norm", out.y, {x_in, weight, bias},
             [x = x.detach(), w = w.defined() ? w.detach() : w, mean = stats.mean, invstd, count = stats.count, eps,
              &kernels, &comm, relu_y = relu ? out.y.detach() : Tensor()](const Tensor& gy, const NeedsGrad&) {
               return sync_backward(x, w, contiguous_untracked(gy), relu_y, mean, invstd, count, eps, kernels, comm);
             });
  return out;
}

}  // namespace rg
