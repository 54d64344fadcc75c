// cuDNN layer kernels against the CPU, DenseNet121 on the GPU against PyTorch's reference tensors,
// and a few training steps on both devices. Part of cuda_tests (skipped without a GPU).
#include <doctest/doctest.h>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "densenet_reference.h"
#include "layer_kernel_checks.h"
#include "layers/conv_settings.h"
#include "layers/cuda/conv_plan.h"
#include "losses/bce.h"
#include "optim/adam.h"

using namespace rg;
using namespace rg::test;

namespace {
const Device gpu = Device::cuda(0);
}

TEST_CASE("cuDNN: every layer kernel equals the CPU reference, forward and backward") {
  Generator gen(11);
  const LayerKernels &cudnn = layer_kernels_for(gpu), &ref = cpu::reference_layer_kernels();
  CHECK(std::string(cudnn.name) == "cudnn");
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const double tol = dtype == DType::Float32 ? 1e-4 : 1e-10;
    for (bool prefix : {false, true}) {
      for (const WindowCase& c : conv_cases()) check_conv(cudnn, gpu, ref, c, prefix, dtype, tol, gen);
      for (const WindowCase& c : conv_cases()) check_batch_norm(cudnn, gpu, ref, c, prefix, dtype, tol, gen);
      for (const WindowCase& c : pool_cases()) check_pooling(cudnn, gpu, ref, c, prefix, dtype, tol, gen);
      for (const WindowCase& c : conv_cases()) check_channel_scale(cudnn, gpu, ref, c, prefix, dtype, tol, gen);
    }
  }
}

TEST_CASE("cuDNN: batch norm's statistics never depend on a reused block's bytes") {
  check_batch_norm_ignores_reused_bytes(layer_kernels_for(gpu), gpu, cpu::reference_layer_kernels());
}

TEST_CASE("cuDNN: an empty batch goes through every layer op, forward and backward") { check_empty_batch(gpu); }

TEST_CASE("cuDNN: timing algorithms with no workspace allowed runs (and the settings key the plans)") {
  Generator gen(13);
  struct Restore {
    ConvSettings saved = conv_settings();
    ~Restore() { conv_settings() = saved; }
  } restore;
  conv_settings().benchmark = true;
  conv_settings().workspace_limit = 0;
  for (const WindowCase& c : conv_cases())
    check_conv(layer_kernels_for(gpu), gpu, cpu::reference_layer_kernels(), c, false, DType::Float32, 1e-4, gen);
}

TEST_CASE("cuDNN: DenseNet121's convolution shapes (batch 2, 224 px) equal the fast CPU kernels") {
  Generator gen(12);
  for (const WindowCase& c : densenet121_conv_cases(2, 224))
    check_conv(layer_kernels_for(gpu), gpu, cpu::layer_kernels(), c, c.k == 1, DType::Float32, 1e-3, gen);
}

TEST_CASE("cuDNN: the convolution plan cache misses once per shape and direction, then hits") {
  cuda::ConvPlanCache& cache = cuda::conv_plan_cache(gpu);
  DenseNet model(DenseNetConfig::densenet121(14));
  model.to(gpu);
  model.train();
  const Tensor x = rand({2, 3, 64, 64}).to(gpu);
  backward(sum(model.logits(x)));
  const int64_t misses = cache.misses(), choices = cache.choices(), hits = cache.hits();
  MESSAGE("DenseNet121 at 64 px, batch 2: " << cache.size() << " plans, " << choices << " algorithms chosen");
  model.zero_grad();
  backward(sum(model.logits(x)));
  CHECK(cache.misses() == misses);    // every shape seen before
  CHECK(cache.choices() == choices);  // no algorithm chosen twice
  CHECK(cache.hits() > hits);
}

TEST_CASE("parity on the GPU: DenseNet121 eval and training outputs, running statistics, gradients") {
  if (skip_without_reference()) return;
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dtype));
    const bool f32 = dtype == DType::Float32;
    const double fwd_tol = f32 ? 1e-4 : 1e-9, grad_tol = f32 ? 3e-2 : 1e-7;
    Loaded l = load(dtype);
    l.model->to(gpu);
    {
      l.model->eval();
      NoGradGuard no_grad;
      check_close(l.model->logits(l.input.to(gpu)), read_bin("eval_logits" + suffix(dtype), {2, 14}, dtype), fwd_tol,
                  fwd_tol, "eval logits");
    }
    l.model->train();
    Tensor input = l.input.to(gpu).set_requires_grad(true);
    const Tensor logits = l.model->logits(input);
    check_close(logits, read_bin("train_logits" + suffix(dtype), {2, 14}, dtype), fwd_tol, fwd_tol, "train logits");
    for (const auto& [name, t] : l.model->state_dict())
      if (name == "features.norm5.running_var")
        check_close(t, read_bin("after_train_fwd_norm5_running_var" + suffix(dtype), t.shape(), dtype), fwd_tol,
                    fwd_tol, name);
    backward(sum(sigmoid(logits)));
    const double e_in =
        relative_l2(input.grad(), read_bin("grad_input_sum_probs" + suffix(dtype), {2, 3, 224, 224}, dtype));
    const double e_w = relative_l2(l.model->named_parameters().front().second.grad(),
                                   read_bin("grad_conv0_weight_sum_probs" + suffix(dtype), {64, 3, 7, 7}, dtype));
    MESSAGE(dtype_name(dtype) << " on the GPU: relative L2 error of the input gradient " << e_in << ", conv0's "
                              << e_w);
    CHECK(e_in < grad_tol);
    CHECK(e_w < grad_tol);
  }
}

TEST_CASE("parity on the GPU (committed fixture): the tiny DenseNet in float64, with gradients") {
  auto model = tiny_model();
  model->to(gpu);
  model->train();
  Tensor input = fixture("input.f64.bin", {2, 3, 32, 32}).to(gpu).set_requires_grad(true);
  const Tensor logits = model->logits(input);
  check_close(logits, fixture("train_logits.f64.bin", {2, 3}), 1e-10, 1e-9, "train logits");
  backward(sum(logits * fixture("r.f64.bin", {2, 3}).to(gpu)));
  CHECK(relative_l2(input.grad(), fixture("grad_input.f64.bin", {2, 3, 32, 32})) < 1e-8);
}

TEST_CASE("training steps on the CPU and the GPU from the same weights give the same losses") {
  // Tiny DenseNet, float64, 4 Adam steps on the weighted loss: the two devices differ only in
  // summation order, so the losses agree to 1e-9 relative.
  std::vector<double> losses[2];
  for (int d = 0; d < 2; ++d) {
    const Device device = d == 0 ? Device::cpu() : gpu;
    auto model = tiny_model();
    model->to(device);
    model->train();
    Adam adam(model->parameters(), AdamOptions{});
    Generator gen(5);
    const Tensor x = rand({4, 3, 32, 32}, -1, 1, DType::Float64, Device::cpu(), gen).to(device);
    const Tensor y = from_vector({1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1}, {4, 3}, DType::Float64).to(device);
    const Tensor w_pos = full({3}, 0.7, DType::Float64).to(device), w_neg = full({3}, 0.3, DType::Float64).to(device);
    for (int step = 0; step < 4; ++step) {
      model->zero_grad();
      const Tensor loss = weighted_loss_with_logits(model->logits(x), y, w_pos, w_neg);
      backward(loss);
      adam.step();
      losses[d].push_back(loss.item<double>());
    }
  }
  for (size_t i = 0; i < losses[0].size(); ++i) {
    CAPTURE(i);
    CHECK(losses[1][i] == doctest::Approx(losses[0][i]).epsilon(1e-9));
  }
}
