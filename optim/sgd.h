// Stochastic gradient descent with optional momentum and weight decay (PyTorch's torch.optim.SGD):
//
//   g = p.grad + weight_decay * p
//   v = momentum * v + g          (v starts as g on the first step)
//   p = p - lr * v                (with momentum = 0, simply p - lr * g)
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace rg {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;
};

class SGD {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options);

  // One update from the gradients in p.grad(); parameters without a gradient are left alone.
  void step();
  // Forgets every parameter's gradient (call before each backward()).
  void zero_grad();

  SGDOptions& options() { return options_; }

 private:
  std::vector<Tensor> params_;
  std::vector<Tensor> velocity_;  // one momentum buffer per parameter, made on first use
  SGDOptions options_;
};

}  // namespace rg
