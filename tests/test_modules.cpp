// Modules and the dense block's shared concatenation buffer.
#include <doctest/doctest.h>

#include "autograd/checkpoint.h"
#include "autograd/engine.h"
#include "autograd/node.h"
#include "autograd/gradcheck.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "helpers.h"
#include "layers/concat_buffer.h"
#include "layers/modules.h"
#include "models/densenet.h"
#include "tensor/allocator.h"

using namespace rg;
using V = const std::vector<Tensor>&;

TEST_CASE("gradcheck: ConcatBuffer's views are differentiable like cat") {
  Generator gen(1);
  Tensor a = rand({2, 2, 3, 3}, -1, 1, DType::Float64, Device::cpu(), gen).set_requires_grad(true);
  Tensor b = rand({2, 1, 3, 3}, -1, 1, DType::Float64, Device::cpu(), gen).set_requires_grad(true);
  const GradcheckResult r = gradcheck(
      [](V t) {
        ConcatBuffer buffer(2, 5, 3, 3, DType::Float64, Device::cpu());
        buffer.append(t[0]);
        Tensor first = buffer.view();       // [a]
        buffer.append(t[1] * mean(first));  // a part made from an earlier view
        buffer.append(exp(t[1]));
        return buffer.view() * 2.0;  // [a, b', exp(b)]
      },
      {a, b});
  INFO(r.message);
  CHECK(r.ok);
  CHECK(r.kinks == 0);
  // The view equals cat() and shares the buffer's storage.
  ConcatBuffer buffer(2, 3, 3, 3, DType::Float64, Device::cpu());
  buffer.append(a);
  buffer.append(b);
  test::check_close(buffer.view(), cat({a, b}, 1), 0, 0);
  CHECK_THROWS_WITH_AS(buffer.append(b), doctest::Contains("3 + 1 channels exceed the buffer's 3"), Error);
}

TEST_CASE("a dense block's memory grows linearly with depth (no quadratic concatenation)") {
  // 24 layers, growth 32, 128 input channels: the block's output has 896 channels. Concatenating
  // anew for every layer would hold sum over layers of (128 + 32 l) channels = 11904 channels'
  // worth at once; the shared buffer needs the final 896 plus one layer's temporaries.
  Generator gen(2);
  DenseNetConfig config = DenseNetConfig::densenet121();
  DenseBlock block(24, 128, config, gen);
  block.eval();
  const Tensor x = rand({1, 128, 16, 16}, -1, 1, DType::Float32, Device::cpu(), gen);
  const size_t channel_bytes = 16 * 16 * 4;
  Allocator& cpu = allocator_for(Device::cpu());
  NoGradGuard no_grad;
  const size_t before = cpu.stats().current_bytes;
  cpu.reset_peak();
  const Tensor y = block.forward(x);
  CHECK(y.shape() == Shape{1, 896, 16, 16});
  const size_t peak = cpu.stats().peak_bytes - before;
  // The buffer plus a layer's norm1/relu copies of its input (up to 864 channels) and bottleneck.
  CHECK(peak < (896 + 2 * 864 + 4 * 128) * channel_bytes);
  CHECK(peak < 11904 * channel_bytes / 3);
}

TEST_CASE("modules: train/eval reach every child, zero_grad clears, to() keeps parameters trainable") {
  Generator gen(3);
  DenseNet model(
      DenseNetConfig{.name = "tiny", .growth = 4, .blocks = {2, 2}, .init_features = 8, .bn_size = 2, .num_classes = 3},
      gen);
  CHECK(model.is_training());
  model.eval();
  CHECK_FALSE(model.is_training());
  model.train();
  const Tensor x = rand({2, 3, 32, 32}, -1, 1, DType::Float32, Device::cpu(), gen);
  backward(sum(model.forward(x)));
  for (const auto& [name, p] : model.named_parameters()) CHECK_MESSAGE(p.grad().defined(), name);
  // One training forward counted by every batch norm.
  for (const auto& [name, b] : model.named_buffers())
    if (name.find("num_batches_tracked") != std::string::npos) CHECK(b.item<int64_t>() == 1);
  model.zero_grad();
  for (const auto& [name, p] : model.named_parameters()) CHECK_FALSE(p.grad().defined());
  model.to(DType::Float64);
  for (const auto& [name, p] : model.named_parameters()) {
    CHECK(p.dtype() == DType::Float64);
    CHECK(p.requires_grad());
  }
  for (const auto& [name, b] : model.named_buffers())
    if (name.find("num_batches_tracked") != std::string::npos) CHECK(b.dtype() == DType::Int64);
  CHECK(model.state_dict().size() == model.named_parameters().size() + model.named_buffers().size());
}

TEST_CASE("memory-efficient DenseNet: the same outputs, gradients and running statistics, in less memory") {
  // A small DenseNet in float64, one training step with and without recomputing the bottlenecks.
  DenseNetConfig config{"small", 8, {4, 4}, 16, 4, 0.0, 3};
  struct Step {
    Tensor logits, input_grad;
    NamedTensors state, grads;
    size_t saved_bytes = 0;
  };
  auto step = [&](bool memory_efficient) {
    Generator gen(7);
    config.memory_efficient = memory_efficient;
    DenseNet model(config, gen);
    model.to(DType::Float64);
    model.train();
    Tensor x = rand({2, 3, 32, 32}, -1, 1, DType::Float64, Device::cpu(), gen).set_requires_grad(true);
    Allocator& cpu = allocator_for(Device::cpu());
    const size_t before = cpu.stats().requested_bytes;
    Step s;
    s.logits = model.logits(x);
    s.saved_bytes = cpu.stats().requested_bytes - before;  // what the graph keeps for the backward
    backward(sum(s.logits * s.logits));
    s.input_grad = x.grad();
    s.state = model.state_dict();
    for (const auto& [name, p] : model.named_parameters()) s.grads.emplace_back(name, p.grad());
    return s;
  };
  const Step plain = step(false), efficient = step(true);
  test::check_close(efficient.logits, plain.logits, 0, 0, "logits");
  test::check_close(efficient.input_grad, plain.input_grad, 1e-13, 1e-11, "input gradient");
  REQUIRE(efficient.grads.size() == plain.grads.size());
  for (size_t i = 0; i < plain.grads.size(); ++i) {
    REQUIRE(efficient.grads[i].second.defined());
    test::check_close(efficient.grads[i].second, plain.grads[i].second, 1e-13, 1e-11, plain.grads[i].first);
  }
  // Running statistics (and num_batches_tracked) were updated once, not again by the recomputation.
  for (size_t i = 0; i < plain.state.size(); ++i)
    test::check_close(efficient.state[i].second, plain.state[i].second, 0, 0, plain.state[i].first);
  MESSAGE("kept for the backward: " << plain.saved_bytes << " bytes plain, " << efficient.saved_bytes
                                    << " memory-efficient");
  // Each dense layer's norm1+relu output, as wide as the block's features so far, is recomputed
  // instead of kept: here about a fifth of what the plain graph keeps (at DenseNet121's widths,
  // far more: bench/RESULTS.md).
  CHECK(efficient.saved_bytes < plain.saved_bytes * 17 / 20);
}

TEST_CASE("checkpoint: gradients equal the plain graph's, and no graph is kept inside") {
  Generator gen(8);
  Tensor a = rand({3, 4}, -1, 1, DType::Float64, Device::cpu(), gen).set_requires_grad(true);
  Tensor b = rand({4, 2}, -1, 1, DType::Float64, Device::cpu(), gen).set_requires_grad(true);
  auto fn = [](const std::vector<Tensor>& t) { return sigmoid(matmul(relu(t[0]), t[1])); };
  const Tensor y = autograd::checkpoint(fn, {a, b});
  REQUIRE(y.grad_fn() != nullptr);
  CHECK(y.grad_fn()->name == "checkpoint");
  CHECK(y.grad_fn()->inputs.size() == 2);  // the inputs' leaves, nothing of sigmoid/matmul/relu
  backward(sum(y * y));
  const Tensor ga = a.grad(), gb = b.grad();
  a.zero_grad();
  b.zero_grad();
  backward(sum(fn({a, b}) * fn({a, b})));
  test::check_close(ga, a.grad(), 1e-14, 1e-12, "d/da");
  test::check_close(gb, b.grad(), 1e-14, 1e-12, "d/db");
  {
    const GradcheckResult r = gradcheck(
        [&](V t) {
          return autograd::checkpoint(fn, {t[0], t[1]});
        },
        {a.detach().set_requires_grad(true), b.detach().set_requires_grad(true)});
    INFO(r.message);
    CHECK(r.ok);
    CHECK(r.kinks == 0);
  }
}
