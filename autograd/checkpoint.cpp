#include "autograd/checkpoint.h"

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace rg::autograd {

namespace {

thread_local bool recomputing = false;

// Recording on and is_recomputing() true for a scope (inside backward(), where recording is off).
class RecomputeGuard {
 public:
  RecomputeGuard() : grad_(GradMode::is_enabled()), recomputing_(recomputing) {
    GradMode::set_enabled(true);
    recomputing = true;
  }
  ~RecomputeGuard() {
    GradMode::set_enabled(grad_);
    recomputing = recomputing_;
  }
  RecomputeGuard(const RecomputeGuard&) = delete;
  RecomputeGuard& operator=(const RecomputeGuard&) = delete;

 private:
  bool grad_, recomputing_;
};

}  // namespace

bool is_recomputing() { return recomputing; }

Tensor checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs) {
  bool any = false;
  for (const Tensor& in : inputs) any = any || (in.defined() && in.requires_grad());
  if (!GradMode::is_enabled() || !any) return fn(inputs);

  Tensor out;
  {
    NoGradGuard no_grad;  // nothing inside fn is recorded, so nothing inside is kept
    out = fn(inputs);
  }
  std::vector<Tensor> saved;
  for (const Tensor& in : inputs) saved.push_back(in.defined() ? in.detach() : in);
  return record("checkpoint", out, inputs, [fn, saved](const Tensor& grad_out, const NeedsGrad& needs) {
    // Fresh leaves over the same storage, so the rerun's gradients stop there.
    std::vector<Tensor> leaves;
    for (size_t i = 0; i < saved.size(); ++i)
      leaves.push_back(saved[i].defined() ? saved[i].detach().set_requires_grad(needs[i]) : saved[i]);
    Tensor again;
    {
      RecomputeGuard guard;
      again = fn(leaves);
    }
    std::vector<Tensor> grads(saved.size());
    if (!again.requires_grad()) return grads;
    backward(again, grad_out);  // also adds the gradients of fn's parameters into their .grad
    for (size_t i = 0; i < saved.size(); ++i)
      if (needs[i] && leaves[i].defined()) grads[i] = leaves[i].grad();
    return grads;
  });
}

}  // namespace rg::autograd
