// The standard layers as modules, with PyTorch's parameter names, shapes and initialization.
#pragma once

#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/functional.h"
#include "layers/module.h"
#include "layers/sync_batch_norm.h"

namespace rg {

// weight [out, in, k, k] (Kaiming normal, as torchvision's DenseNet), bias [out] (zeros) or none.
class Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, Conv2dOptions options = {}, bool bias = false,
         Generator& gen = default_generator());
  Tensor forward(const Tensor& x) const {
    return conv2d(x, weight, bias, options);
  }  // [N, in, H, W] -> [N, out, H', W']

  Tensor weight, bias;
  Conv2dOptions options;
};

// weight (ones), bias (zeros), running_mean (zeros), running_var (ones), num_batches_tracked
// (int64 scalar, counts training-mode forwards).
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x);       // [N, C, H, W] -> same
  Tensor forward_relu(const Tensor& x);  // relu(forward(x)) in one pass (layers/batch_norm.h)

  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  double eps, momentum;
  // Data-parallel training: when set, training mode normalizes by the statistics of every rank's
  // slice together (layers/sync_batch_norm.h). Null: this process's batch alone.
  Communicator* sync = nullptr;

 private:
  Tensor run(const Tensor& x, bool relu);
  SyncStatistics sync_stats_;  // the last forward's, reused when a checkpoint recomputes it
};

// Sets `sync` on every BatchNorm2d inside `model` (nullptr: each process normalizes alone).
void set_sync_batch_norm(Module& model, Communicator* comm);

// weight [out, in] (PyTorch's default: uniform in +-1/sqrt(in)), bias [out] (zeros, as
// torchvision's DenseNet sets it).
class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) const { return linear(x, weight, bias); }  // [N, in] -> [N, out]

  Tensor weight, bias;
};

}  // namespace rg
