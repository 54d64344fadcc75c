#include "layers/sync_batch_norm.h"

#include "autograd/grad_mode.h"
#include "layers/kernels.h"
#include "layers/layer_common.h"
#include "tensor/factory.h"

namespace rg {

using namespace detail;

namespace {

Dims channel_dims(const Tensor& x) { return x.dim() == 4 ? Dims{0, 2, 3} : Dims{0}; }
Shape per_channel(const Tensor& x) { return x.dim() == 4 ? Shape{1, x.size(1), 1, 1} : Shape{1, x.size(1)}; }

// Per channel, over this rank's x and then over every rank: [count, sum x, sum x^2] in float64.
SyncStatistics measure_statistics(const Tensor& x, Communicator& comm) {
  NoGradGuard no_grad;
  const int64_t channels = x.size(1);
  const Tensor x64 = x.to(DType::Float64);
  Tensor packed = cat({full({1}, double(x.numel() / channels), DType::Float64, x.device()), sum(x64, channel_dims(x)),
                       sum(x64 * x64, channel_dims(x))},
                      0);
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
  if (measure) stats = measure_statistics(x, comm);
  RG_CHECK(stats.mean.defined() && stats.mean.numel() == channels,
           "sync_batch_norm: no statistics of this batch to reuse (measure it first)");
  const Tensor w = weight.defined() ? contiguous_untracked(weight) : weight;
  const Tensor b = bias.defined() ? contiguous_untracked(bias) : bias;

  BatchNormOutput out{Tensor::empty(x.shape(), x.dtype(), x.device())};
  layer_kernels_for(x.device()).batch_norm_eval(x, w, b, stats.mean, stats.var, eps, relu, out.y);
  {
    NoGradGuard no_grad;
    out.batch_mean = stats.mean;
    out.batch_var = stats.var * (double(stats.count) / double(stats.count - 1));  // unbiased, for the running var
  }
  const Tensor invstd = [&] {
    NoGradGuard no_grad;
    return 1.0 / sqrt(stats.var + eps);
  }();
  const Tensor mean = stats.mean;
  const int64_t count = stats.count;
  out.y = record(relu ? "sync_batch_norm_relu" : "sync_batch_norm", out.y, {x_in, weight, bias},
                 [x = x.detach(), w = w.defined() ? w.detach() : w, mean, invstd, count, &comm,
                  relu_y = relu ? out.y.detach() : Tensor()](const Tensor& gy_in, const NeedsGrad& needs) {
                   const Tensor gy = relu_y.defined() ? gy_in * gt(relu_y, scalar_like(relu_y, 0)) : gy_in;
                   const Shape shape = per_channel(x);
                   const Dims over = channel_dims(x);
                   const int64_t c = x.size(1);
                   const Tensor xhat = (x - reshape(mean, shape)) * reshape(invstd, shape);
                   const Tensor sum_gy = sum(gy.to(DType::Float64), over);
                   const Tensor sum_gy_xhat = sum((gy * xhat).to(DType::Float64), over);
                   Tensor global = cat({sum_gy, sum_gy_xhat}, 0);
                   comm.allreduce(global, ReduceOp::Sum);
                   const Tensor mean_gy = (slice(global, 0, 0, c) * (1.0 / double(count))).to(x.dtype());
                   const Tensor mean_gy_xhat =
                       (slice(global, 0, c, 2 * c) * (1.0 / double(count))).to(x.dtype());
                   const Tensor scale = w.defined() ? invstd * w : invstd;
                   Grads grads(3);
                   grads[0] = reshape(scale, shape) *
                              (gy - reshape(mean_gy, shape) - xhat * reshape(mean_gy_xhat, shape));
                   if (needs[1]) grads[1] = sum_gy_xhat.to(x.dtype());
                   if (needs[2]) grads[2] = sum_gy.to(x.dtype());
                   return grads;
                 });
  return out;
}

}  // namespace rg
