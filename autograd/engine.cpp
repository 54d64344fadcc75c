#include "autograd/engine.h"

#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/backend.h"
#include "tensor/factory.h"

namespace rg {

namespace {
thread_local bool grad_enabled = true;
}
bool GradMode::is_enabled() { return grad_enabled; }
void GradMode::set_enabled(bool enabled) { grad_enabled = enabled; }

namespace autograd {

Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward) {
  if (!GradMode::is_enabled()) return out;
  bool any = false;
  for (const Tensor& in : inputs) any = any || (in.defined() && in.requires_grad());
  if (!any) return out;

  auto node = std::make_shared<Node>();
  node->name = name;
  for (const Tensor& in : inputs) {
    Edge edge;
    if (in.defined() && in.requires_grad()) {
      if (in.is_leaf())
        edge.leaf = in.impl_ptr();
      else
        edge.node = in.grad_fn();
    }
    node->needs.push_back(edge.leaf || edge.node);
    node->inputs.push_back(std::move(edge));
    node->input_shapes.push_back(in.defined() ? in.shape() : Shape{});
  }
  node->backward = std::move(backward);
  node->output = out.impl_ptr();
  out.impl().grad_fn = node;
  out.impl().requires_grad = true;
  return out;
}

Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, SimpleBackwardFn backward) {
  return record(name, std::move(out), inputs,
                [backward = std::move(backward)](const Tensor& gy, const NeedsGrad&) { return backward(gy); });
}

Tensor stand_in(Tensor copy, const Tensor& made) {
  RG_CHECK(made.requires_grad() && !made.is_leaf(),
           "autograd::stand_in: the tensor replaced must have been made by an op");
  RG_CHECK(copy.shape() == made.shape(), "autograd::stand_in: shapes ", shape_str(copy.shape()), " and ",
           shape_str(made.shape()), " differ");
  copy.impl().grad_fn = made.grad_fn();
  copy.impl().requires_grad = true;
  return copy;
}

namespace {

// Adds `grad` into `target`'s .grad, then runs its hook. The first gradient is copied into a fresh
// contiguous tensor (a leaf's gradient never aliases a tensor that something else may still
// change); later ones add into .grad in place, as PyTorch's AccumulateGrad does, so a .grad set
// beforehand (the gradient reducer's views of its buckets, train/data_parallel.h) fills where it lies.
void accumulate(TensorImpl& target, const Tensor& grad) {
  if (!target.grad) {
    Tensor copy = Tensor::empty(grad.shape(), grad.dtype(), grad.device());
    copy.copy_(grad);
    target.grad = copy.impl_ptr();
  } else {
    Tensor into(target.grad);
    RG_CHECK(into.shape() == grad.shape(), "backward: the .grad set on a leaf has shape ", shape_str(into.shape()),
             ", its gradient ", shape_str(grad.shape()));
    backend_for(grad.device()).binary(BinaryOp::Add, into, grad, into);
  }
  if (target.grad_hook) target.grad_hook();
}

// Nodes reachable from `root`, each listed before the nodes of its inputs. The list owns them:
// the pass below cuts the edges as it goes, which would otherwise free nodes still to visit.
std::vector<std::shared_ptr<Node>> topological_order(const std::shared_ptr<Node>& root) {
  std::vector<std::shared_ptr<Node>> post_order;
  std::unordered_set<Node*> visited{root.get()};
  // Iterative depth-first search (DenseNet graphs are too deep for recursion to be comfortable).
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const std::shared_ptr<Node>& child = node->inputs[next++].node;
      if (child && visited.insert(child.get()).second) stack.push_back({child, 0});
    } else {
      post_order.push_back(std::move(node));
      stack.pop_back();
    }
  }
  return {post_order.rbegin(), post_order.rend()};
}

}  // namespace
}  // namespace autograd

void backward(const Tensor& root, const Tensor& grad_in) {
  using namespace autograd;
  RG_CHECK(root.requires_grad(),
           "backward: the tensor does not require grad (no input of the ops "
           "that made it had requires_grad set, or grad mode was off)");
  Tensor grad = grad_in;
  if (!grad.defined()) {
    RG_CHECK(root.numel() == 1, "backward: a gradient must be given for a non-scalar tensor of shape ",
             shape_str(root.shape()), " (backward() without one needs a single-element tensor)");
    grad = ones(root.shape(), root.dtype(), root.device());
  }
  RG_CHECK(grad.shape() == root.shape() && grad.dtype() == root.dtype() && grad.device() == root.device(),
           "backward: gradient of shape ", shape_str(grad.shape()), " (", grad.dtype(), ", ", grad.device(),
           ") does not match the tensor's ", shape_str(root.shape()), " (", root.dtype(), ", ", root.device(), ")");

  NoGradGuard no_grad;  // backward math is not itself recorded
  if (root.is_leaf()) {
    accumulate(root.impl(), grad);
    return;
  }

  std::unordered_map<Node*, Tensor> pending{{root.grad_fn().get(), grad}};
  for (const std::shared_ptr<Node>& node : topological_order(root.grad_fn())) {
    Tensor gy = std::move(pending[node.get()]);
    pending.erase(node.get());
    if (!gy.defined()) continue;  // no gradient flows into this node
    RG_CHECK(node->backward != nullptr, "backward: the graph through '", node->name,
             "' was already freed by an earlier backward(); recompute the forward pass");
    if (auto out = node->output.lock(); out && out->retains_grad) accumulate(*out, gy);

    std::vector<Tensor> grads = node->backward(gy, node->needs);
    RG_CHECK(grads.size() == node->inputs.size(), "autograd: backward of '", node->name, "' returned ", grads.size(),
             " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      const Edge& edge = node->inputs[i];
      if (!grads[i].defined() || (!edge.node && !edge.leaf)) continue;
      RG_CHECK(grads[i].shape() == node->input_shapes[i], "autograd: backward of '", node->name,
               "' returned a gradient of shape ", shape_str(grads[i].shape()), " for input ", i, " of shape ",
               shape_str(node->input_shapes[i]));
      if (edge.leaf) {
        accumulate(*edge.leaf, grads[i]);
      } else if (Tensor& slot = pending[edge.node.get()]; !slot.defined()) {
        slot = grads[i];
      } else {
        Tensor sum = Tensor::empty(slot.shape(), slot.dtype(), slot.device());
        backend_for(sum.device()).binary(BinaryOp::Add, slot, grads[i], sum);
        slot = sum;
      }
    }
    // Free the graph as we go: saved tensors die with the closure.
    node->backward = nullptr;
    node->inputs.clear();
  }
}

}  // namespace rg
