#include "optim/sgd.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace rg {

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : params_(std::move(params)), velocity_(params_.size()), options_(options) {
  for (size_t i = 0; i < params_.size(); ++i)
    RG_CHECK(params_[i].is_leaf() && params_[i].requires_grad(), "SGD: parameter ", i,
             " must be a leaf tensor with requires_grad (shape ", shape_str(params_[i].shape()), ")");
  RG_CHECK(options.lr > 0, "SGD: learning rate must be positive, got ", options.lr);
  RG_CHECK(options.momentum >= 0, "SGD: momentum must be >= 0, got ", options.momentum);
}

void SGD::step() {
  NoGradGuard no_grad;  // the update itself is not part of any graph
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (options_.weight_decay != 0) g = g + options_.weight_decay * p;
    if (options_.momentum != 0) {
      velocity_[i] = velocity_[i].defined() ? options_.momentum * velocity_[i] + g : g;
      g = velocity_[i];
    }
    p.copy_(p - options_.lr * g);
  }
}

void SGD::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

}  // namespace rg
