#include "optim/adam.h"

#include <cmath>

#include "tensor/backend.h"
#include "tensor/factory.h"

namespace rg {

Adam::Adam(std::vector<Tensor> params, AdamOptions options) : params_(std::move(params)), options_(options) {
  for (size_t i = 0; i < params_.size(); ++i) {
    RG_CHECK(params_[i].is_leaf() && params_[i].requires_grad(), "Adam: parameter ", i,
             " must be a leaf tensor with requires_grad (shape ", shape_str(params_[i].shape()), ")");
    m_.push_back(zeros_like(params_[i]));
    v_.push_back(zeros_like(params_[i]));
  }
  RG_CHECK(options.lr > 0, "Adam: learning rate must be positive, got ", options.lr);
  RG_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1,
           "Adam: betas must be in [0, 1), got ", options.beta1, ", ", options.beta2);
}

// One fused pass per parameter on its device (the math: rg::math::optimizer_update).
void Adam::step() {
  ++steps_;
  UpdateRule rule{.kind = UpdateRule::Kind::Adam,
                  .lr = options_.lr,
                  .weight_decay = options_.weight_decay,
                  .beta1 = options_.beta1,
                  .beta2 = options_.beta2,
                  .eps = options_.eps,
                  .bias1 = 1 - std::pow(options_.beta1, double(steps_)),
                  .bias2 = 1 - std::pow(options_.beta2, double(steps_))};
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    RG_CHECK(p.is_contiguous(), "Adam: parameter ", i, " is not contiguous");
    backend_for(p.device()).update(rule, p, contiguous_untracked(p.grad()), m_[i], v_[i]);
  }
}

void Adam::load_state(int64_t steps, const std::vector<Tensor>& m, const std::vector<Tensor>& v) {
  RG_CHECK(m.size() == m_.size() && v.size() == v_.size(), "Adam::load_state: ", m.size(), " moments for ", m_.size(),
           " parameters");
  for (size_t i = 0; i < m_.size(); ++i) {
    RG_CHECK(m[i].shape() == m_[i].shape() && v[i].shape() == v_[i].shape(),
             "Adam::load_state: the moments of parameter ", i, " are ", shape_str(m[i].shape()), " and ",
             shape_str(v[i].shape()), ", the parameter is ", shape_str(m_[i].shape()));
    m_[i].copy_(m[i]);
    v_[i].copy_(v[i]);
  }
  steps_ = steps;
}

void Adam::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

}  // namespace rg
