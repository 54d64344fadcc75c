#include "layers/modules.h"

#include <cmath>

#include "autograd/checkpoint.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tensor/factory.h"

namespace rg {

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, Conv2dOptions opts, bool with_bias, Generator& gen)
    : options(opts) {
  weight = kaiming_normal({out, in, kernel, kernel}, DType::Float32, Device::cpu(), gen);
  register_parameter("weight", &weight);
  if (with_bias) {
    bias = zeros({out});
    register_parameter("bias", &bias);
  }
}

BatchNorm2d::BatchNorm2d(int64_t channels, double eps_, double momentum_) : eps(eps_), momentum(momentum_) {
  weight = ones({channels});
  bias = zeros({channels});
  running_mean = zeros({channels});
  running_var = ones({channels});
  num_batches_tracked = zeros({}, DType::Int64);
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
  register_buffer("running_mean", &running_mean);
  register_buffer("running_var", &running_var);
  register_buffer("num_batches_tracked", &num_batches_tracked);
}

Tensor BatchNorm2d::forward(const Tensor& x) { return run(x, false); }

Tensor BatchNorm2d::forward_relu(const Tensor& x) { return run(x, true); }

Tensor BatchNorm2d::run(const Tensor& x, bool relu) {
  BatchNormOutput out =
      sync && is_training()
          ? sync_batch_norm(x, weight, bias, eps, relu, *sync, sync_stats_, !autograd::is_recomputing())
          : batch_norm(x, weight, bias, running_mean, running_var, is_training(), eps, relu);
  // Once per forward, on the statistics' device (no copy to the host); not again when a checkpoint
  // recomputes this forward for the backward (autograd/checkpoint.h).
  if (is_training() && !autograd::is_recomputing()) {
    NoGradGuard no_grad;
    running_mean.copy_(running_mean * (1 - momentum) + out.batch_mean * momentum);
    running_var.copy_(running_var * (1 - momentum) + out.batch_var * momentum);
    num_batches_tracked.fill_(num_batches_tracked.item<double>() + 1);  // a host-side counter
  }
  return out.y;
}

void set_sync_batch_norm(Module& model, Communicator* comm) {
  model.for_each_module([comm](Module& m) {
    if (auto* bn = dynamic_cast<BatchNorm2d*>(&m)) bn->sync = comm;
  });
}

Linear::Linear(int64_t in, int64_t out, Generator& gen) {
  const double bound = 1.0 / std::sqrt(double(in));
  weight = rand({out, in}, -bound, bound, DType::Float32, Device::cpu(), gen);
  bias = zeros({out});
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

}  // namespace rg
