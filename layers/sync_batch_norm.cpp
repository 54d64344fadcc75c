#include "layers/sync_batch_norm.h"

#include "autograd/grad_mode.h"
#include "layers/kernels.h"
#include "layers/layer_common.h"
#include "tensor/factory.h"

namespace rg {

using namespace detail;

namespace {

// Per channel, this rank's [count, sum x, sum x^2] (float64, [1 + 2C]), from the statistics
// kernel's mean and biased variance of the slice.
Tensor local_sums(const Tensor& x) {
  const int64_t channels = x.size(1), count = x.numel() / channels;
  Tensor mean = Tensor::empty({channels}, x.dtype(), x.device()),
         var = Tensor::empty({channels}, x.dtype(), x.device());
  layer_kernels_for(x.device()).batch_norm_stats(x, mean, var);
  const Tensor n = full({1}, double(count), DType::Float64, x.device());
  const Tensor mean64 = mean.to(DType::Float64), var64 = var.to(DType::Float64);
  return cat({n, mean64 * double(count), (var64 + mean64 * mean64) * double(count)}, 0);
}

SyncStatistics global_statistics(const Tensor& x, Communicator& comm) {
  NoGradGuard no_grad;
  const int64_t channels = x.size(1);
  Tensor packed = local_sums(x);
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

BatchNormOutput sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool relu,
                                Communicator& comm, SyncStatistics& stats, bool measure) {
  const BatchNormInputs in = batch_norm_inputs("sync_batch_norm", x, weight, bias);
  if (measure) stats = global_statistics(in.x, comm);
  RG_CHECK(stats.mean.defined() && stats.mean.numel() == x.size(1),
           "sync_batch_norm: no statistics of this batch to reuse (measure it first)");
  // The backward's sums, like the statistics, are every rank's.
  auto global_sums = [&comm, count = stats.count](const Tensor& local) {
    Tensor global = Tensor::empty(local.shape(), local.dtype(), local.device());
    global.copy_(local);  // the local sums stay for gweight and gbias
    comm.allreduce(global, ReduceOp::Sum);
    return std::pair{global, count};
  };
  const Tensor y =
      normalize(relu ? "sync_batch_norm_relu" : "sync_batch_norm", in, stats.mean, stats.var, eps, relu, global_sums);
  return {y, stats.mean, stats.var * (double(stats.count) / double(stats.count - 1))};  // unbiased, for the running var
}

}  // namespace rg
