// Modules: layers that own their parameters and buffers, by name.
//
// A module registers each parameter (learned, requires grad), buffer (state that is saved but not
// learned, e.g. batch norm's running statistics) and child module under a name; the dotted
// paths ("features.denseblock1.denselayer1.conv1.weight") are the names of the state dict and of
// the model file, chosen to match torchvision one to one.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace rg {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Not copyable: a module holds pointers to its own members.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Training mode (batch statistics in batch norm, dropout on) or eval mode, for the whole tree.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  // Parameters and buffers, in registration order, depth first.
  NamedTensors state_dict() const;
  int64_t num_parameters() const;
  void zero_grad();
  // fn(m) for this module and every module inside it, parents before children.
  void for_each_module(const std::function<void(Module&)>& fn);

  // Moves (or converts) every parameter and buffer; parameters stay leaves that require grad.
  // Integer buffers (num_batches_tracked) are host-side counters: they keep their dtype and stay
  // on the CPU, so counting a step never waits for the GPU.
  void to(Device device);
  void to(DType dtype);
  // Where the parameters live (the CPU for a module without parameters).
  Device device() const;

  // Copies values from `state` into this module's tensors. Every name must exist on both sides
  // with the same shape and dtype (nothing is converted: call to(dtype) first), except names
  // listed in `skip`. Throws one rg::Error listing every missing, unexpected or mismatched tensor.
  void load_state_dict(const NamedTensors& state, const std::vector<std::string>& skip = {});

 protected:
  // Register members; the module must stay at one address (hold modules by shared_ptr).
  void register_parameter(const std::string& name, Tensor* tensor);
  void register_buffer(const std::string& name, Tensor* tensor);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    children_.emplace_back(name, child);
    return child;
  }

 private:
  void collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const;
  void visit_tensors(const std::function<void(Tensor&, bool is_parameter)>& fn);

  std::vector<std::pair<std::string, Tensor*>> parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace rg
