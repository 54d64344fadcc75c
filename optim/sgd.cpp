#include "optim/sgd.h"

#include "tensor/backend.h"
#include "tensor/factory.h"

namespace rg {

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : params_(std::move(params)), velocity_(params_.size()), options_(options) {
  for (size_t i = 0; i < params_.size(); ++i)
    RG_CHECK(params_[i].is_leaf() && params_[i].requires_grad(), "SGD: parameter ", i,
             " must be a leaf tensor with requires_grad (shape ", shape_str(params_[i].shape()), ")");
  RG_CHECK(options.lr > 0, "SGD: learning rate must be positive, got ", options.lr);
  RG_CHECK(options.momentum >= 0, "SGD: momentum must be >= 0, got ", options.momentum);
}

// One fused pass per parameter on its device (the math: rg::math::optimizer_update). The velocity
// starts at zero, so the first step's velocity is the gradient itself, as in PyTorch.
void SGD::step() {
  const UpdateRule rule{.kind = UpdateRule::Kind::Sgd,
                        .lr = options_.lr,
                        .weight_decay = options_.weight_decay,
                        .momentum = options_.momentum};
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    RG_CHECK(p.is_contiguous(), "SGD: parameter ", i, " is not contiguous");
    if (options_.momentum != 0 && !velocity_[i].defined()) velocity_[i] = zeros_like(p);
    Tensor none;
    backend_for(p.device()).update(rule, p, contiguous_untracked(p.grad()), velocity_[i], none);
  }
}

void SGD::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

}  // namespace rg
