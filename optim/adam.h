// Adam (Kingma & Ba, 2015), with PyTorch's update (torch.optim.Adam, amsgrad off):
//
//   g = p.grad + weight_decay * p
//   m = beta1 m + (1 - beta1) g            v = beta2 v + (1 - beta2) g^2
//   p = p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace rg {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class Adam {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options);
  void step();
  void zero_grad();
  AdamOptions& options() { return options_; }

  // The state a checkpoint must keep to resume exactly.
  int64_t steps() const { return steps_; }
  const std::vector<Tensor>& first_moments() const { return m_; }
  const std::vector<Tensor>& second_moments() const { return v_; }
  // Restores what a checkpoint kept (moments in parameter order).
  void load_state(int64_t steps, const std::vector<Tensor>& m, const std::vector<Tensor>& v);

 private:
  std::vector<Tensor> params_, m_, v_;
  AdamOptions options_;
  int64_t steps_ = 0;
};

}  // namespace rg
