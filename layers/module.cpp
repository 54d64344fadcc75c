#include "layers/module.h"

#include <functional>
#include <set>
#include <sstream>

namespace rg {

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::register_parameter(const std::string& name, Tensor* tensor) {
  tensor->set_requires_grad(true);
  parameters_.emplace_back(name, tensor);
}

void Module::register_buffer(const std::string& name, Tensor* tensor) { buffers_.emplace_back(name, tensor); }

void Module::collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const {
  // torchvision's state dict order: a module's own parameters, then its buffers, then children.
  if (params)
    for (const auto& [name, t] : parameters_) out.emplace_back(prefix + name, *t);
  if (buffers)
    for (const auto& [name, t] : buffers_) out.emplace_back(prefix + name, *t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", params, buffers, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, true, out);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", true, true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::zero_grad() {
  for (auto& [name, t] : parameters_) t->zero_grad();
  for (auto& [name, child] : children_) child->zero_grad();
}

void Module::for_each_module(const std::function<void(Module&)>& fn) {
  fn(*this);
  for (auto& [name, child] : children_) child->for_each_module(fn);
}

void Module::visit_tensors(const std::function<void(Tensor&, bool)>& fn) {
  for (auto& [name, t] : parameters_) fn(*t, true);
  for (auto& [name, t] : buffers_) fn(*t, false);
  for (auto& [name, child] : children_) child->visit_tensors(fn);
}

void Module::to(Device device) {
  visit_tensors([&](Tensor& t, bool is_parameter) {
    if (t.device() == device || !is_floating(t.dtype())) return;
    t = t.to(device);
    if (is_parameter) t.set_requires_grad(true);
  });
}

Device Module::device() const {
  const std::vector<Tensor> params = parameters();
  return params.empty() ? Device::cpu() : params.front().device();
}

void Module::to(DType dtype) {
  visit_tensors([&](Tensor& t, bool is_parameter) {
    if (t.dtype() == dtype || !is_floating(t.dtype())) return;
    t = t.to(dtype);
    if (is_parameter) t.set_requires_grad(true);
  });
}

void Module::load_state_dict(const NamedTensors& state, const std::vector<std::string>& skip) {
  const std::set<std::string> skipped(skip.begin(), skip.end());
  std::map<std::string, Tensor> given;
  for (const auto& [name, t] : state) given[name] = t;
  std::ostringstream problems;
  int count = 0;
  auto problem = [&](const std::string& text) {
    if (count++ < 20) problems << "\n  " << text;
  };
  const NamedTensors ours = state_dict();
  std::set<std::string> known;
  for (const auto& [name, t] : ours) {
    known.insert(name);
    if (skipped.count(name)) continue;
    auto it = given.find(name);
    if (it == given.end()) {
      problem("missing: " + name + " " + shape_str(t.shape()));
      continue;
    }
    const Tensor& src = it->second;
    if (src.shape() != t.shape())
      problem("wrong shape: " + name + " is " + shape_str(src.shape()) + " in the file, " + shape_str(t.shape()) +
              " in the model");
    else if (src.dtype() != t.dtype())
      problem("wrong dtype: " + name + " is " + dtype_name(src.dtype()) + " in the file, " + dtype_name(t.dtype()) +
              " in the model (Module::to(dtype) converts the model before loading)");
  }
  for (const auto& [name, t] : state)
    if (!known.count(name) && !skipped.count(name)) problem("unexpected: " + name + " " + shape_str(t.shape()));
  if (count > 20) problems << "\n  ... and " << count - 20 << " more";
  RG_CHECK(count == 0, "load_state_dict: ", count, " problem", count == 1 ? "" : "s", ":", problems.str());

  for (auto [name, t] : ours)
    if (!skipped.count(name)) t.copy_(given[name]);  // t shares storage with the module's tensor
}

}  // namespace rg
