// DenseNet: torchvision's structure and names, and parity with PyTorch on the reference tensors
// in ../shared/reference/densenet121 (a random-initialized torchvision densenet121 with a 14-class
// head and non-trivial batch norm statistics; see its README for how they were made).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "densenet_reference.h"
#include "helpers.h"
#include "models/densenet.h"
#include "tensor/io.h"
#include "tensor/safetensors.h"

using namespace rg;
using namespace rg::test;

TEST_CASE("DenseNet-121/169/201 have torchvision's parameter counts; 121 has its state dict names") {
  Generator gen(0);
  DenseNet d121(DenseNetConfig::densenet121(1000), gen);
  CHECK(d121.num_parameters() == 7978856);  // torchvision densenet121
  CHECK(DenseNet(DenseNetConfig::densenet169(1000), gen).num_parameters() == 14149480);
  CHECK(DenseNet(DenseNetConfig::densenet201(1000), gen).num_parameters() == 20013928);
  const NamedTensors state = d121.state_dict();
  CHECK(state.size() == 727);
  CHECK(state.front().first == "features.conv0.weight");
  CHECK(state[1].first == "features.norm0.weight");
  CHECK(state[5].first == "features.norm0.num_batches_tracked");
  CHECK(state[6].first == "features.denseblock1.denselayer1.norm1.weight");
  CHECK(state.back().first == "classifier.bias");
  CHECK(d121.config().num_features() == 1024);
}

TEST_CASE("parity: the reference model file loads one to one") {
  if (skip_without_reference()) return;
  const SafeTensors file = read_safetensors(reference_dir() + "/model.safetensors");
  DenseNet model(DenseNetConfig::densenet121(14));
  const NamedTensors ours = model.state_dict();
  REQUIRE(ours.size() == file.tensors.size());
  for (const auto& [name, t] : ours) {
    const Tensor theirs = file.find(name);
    REQUIRE_MESSAGE(theirs.defined(), name);
    CHECK(theirs.shape() == t.shape());
    CHECK(theirs.dtype() == t.dtype());
  }
  CHECK(model.num_parameters() == 6968206);
}

TEST_CASE("parity: eval-mode logits and probabilities, float32 and float64") {
  if (skip_without_reference()) return;
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dtype));
    Loaded l = load(dtype);
    l.model->eval();
    NoGradGuard no_grad;
    const Tensor logits = l.model->logits(l.input);
    const double tol = dtype == DType::Float32 ? 2e-5 : 1e-10;
    test::check_close(logits, read_bin("eval_logits" + suffix(dtype), {2, 14}, dtype), tol, tol, "eval logits");
    test::check_close(sigmoid(logits), read_bin("eval_probs" + suffix(dtype), {2, 14}, dtype), tol, tol, "eval probs");
  }
}

TEST_CASE("parity: training-mode outputs, updated running statistics, input and conv0 gradients") {
  if (skip_without_reference()) return;
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dtype));
    const bool f32 = dtype == DType::Float32;
    const double fwd_tol = f32 ? 2e-5 : 1e-10;
    // float32 gradients through 121 batch-statistics BN layers are ill-conditioned: PyTorch itself
    // moves by up to ~1e-2 between thread counts (the reference README); float64 is tight.
    const double grad_tol = f32 ? 3e-2 : 1e-8;
    const Tensor r = read_bin("loss_weight_r" + suffix(dtype), {2, 14}, dtype);
    struct LossCase {
      const char* name;
      std::function<Tensor(const Tensor& logits)> loss;
    };
    const LossCase cases[] = {{"sum_probs", [](const Tensor& z) { return sum(sigmoid(z)); }},
                              {"sum_logits", [](const Tensor& z) { return sum(z); }},
                              {"sum_r_logits", [&](const Tensor& z) { return sum(r * z); }}};
    for (const LossCase& c : cases) {
      CAPTURE(c.name);
      Loaded l = load(dtype);
      l.model->train();
      Tensor input = l.input.detach().set_requires_grad(true);
      const Tensor logits = l.model->logits(input);
      if (std::string(c.name) == "sum_probs") {  // the first training forward, checked once
        test::check_close(logits, read_bin("train_logits" + suffix(dtype), {2, 14}, dtype), fwd_tol, fwd_tol,
                          "train logits");
        const NamedTensors state = l.model->state_dict();
        auto find = [&](const std::string& name) {
          for (const auto& [n, t] : state)
            if (n == name) return t;
          return Tensor();
        };
        for (const char* bn : {"norm0", "norm5"})
          for (const char* stat : {"running_mean", "running_var"}) {
            const std::string file = std::string("after_train_fwd_") + bn + "_" + stat + suffix(dtype);
            const Tensor ours = find(std::string("features.") + bn + "." + stat);
            test::check_close(ours, read_bin(file, ours.shape(), dtype), fwd_tol, fwd_tol, file);
          }
      }
      backward(c.loss(logits));
      const std::string g_in = std::string("grad_input_") + c.name + suffix(dtype);
      const std::string g_w = std::string("grad_conv0_weight_") + c.name + suffix(dtype);
      const Tensor conv0_grad = l.model->named_parameters().front().second.grad();
      const double e_in = relative_l2(input.grad(), read_bin(g_in, {2, 3, 224, 224}, dtype));
      const double e_w = relative_l2(conv0_grad, read_bin(g_w, {64, 3, 7, 7}, dtype));
      MESSAGE(std::string(dtype_name(dtype))
              << " " << std::string(c.name) << ": relative L2 error of the input gradient " << e_in
              << ", of conv0's weight gradient " << e_w);
      CHECK(e_in < grad_tol);
      CHECK(e_w < grad_tol);
    }
  }
}

TEST_CASE("parity (committed fixture): a tiny torchvision DenseNet in float64, eval and training, with gradients") {
  const Tensor x = fixture("input.f64.bin", {2, 3, 32, 32});
  {
    auto model = tiny_model();
    model->eval();
    NoGradGuard no_grad;
    test::check_close(model->logits(x), fixture("eval_logits.f64.bin", {2, 3}), 1e-12, 1e-10, "eval logits");
  }
  auto model = tiny_model();
  model->train();
  Tensor input = x.detach().set_requires_grad(true);
  const Tensor logits = model->logits(input);
  test::check_close(logits, fixture("train_logits.f64.bin", {2, 3}), 1e-12, 1e-10, "train logits");
  const NamedTensors state = model->state_dict();
  for (const auto& [name, t] : state) {
    if (name == "features.norm5.running_mean")
      test::check_close(t, fixture("norm5_running_mean.f64.bin", {16}), 1e-12, 1e-10, name);
    if (name == "features.norm5.running_var")
      test::check_close(t, fixture("norm5_running_var.f64.bin", {16}), 1e-12, 1e-10, name);
  }
  backward(sum(logits * fixture("r.f64.bin", {2, 3})));
  CHECK(relative_l2(input.grad(), fixture("grad_input.f64.bin", {2, 3, 32, 32})) < 1e-9);
  CHECK(relative_l2(model->named_parameters().front().second.grad(),
                    fixture("grad_conv0_weight.f64.bin", {8, 3, 7, 7})) < 1e-9);
}

TEST_CASE("DenseNet counts its own forward FLOPs: DenseNet121 at 224 px is torchvision's 2.87 G multiply-adds") {
  Generator gen(0);
  const DenseNet plain(DenseNetConfig::densenet121(14), gen), se(DenseNetConfig::densenet121_se(14), gen);
  CHECK(plain.forward_flops(224) / 2e9 == doctest::Approx(2.87).epsilon(0.01));
  CHECK(plain.forward_flops(320) / plain.forward_flops(224) ==
        doctest::Approx(320.0 * 320.0 / (224.0 * 224.0)).epsilon(0.05));
  CHECK(se.forward_flops(224) > plain.forward_flops(224));  // the SE modules' matrix products count too
}
