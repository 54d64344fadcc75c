// Layer ops: every fast CPU kernel against its reference, gradcheck for every op, batch norm's
// running statistics, pooling's padding rules.
#include <doctest/doctest.h>

#include <cmath>
#include <thread>

#include "autograd/engine.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "autograd/node.h"
#include "helpers.h"
#include "layer_kernel_checks.h"
#include "layers/batch_norm.h"
#include "layers/cpu/conv_algorithms.h"
#include "layers/conv_settings.h"
#include "layers/kernels.h"
#include "layers/modules.h"
#include "layers/conv2d.h"
#include "layers/functional.h"
#include "layers/pooling.h"
#include "layers/squeeze_excite.h"
#include "tensor/allocator.h"
#include "tensor/backend.h"
#include "tensor/parallel.h"

using namespace rg;
using V = const std::vector<Tensor>&;

namespace {

Tensor input(const Shape& shape, uint64_t seed, DType dtype = DType::Float64) {
  Generator gen(seed);
  return rand(shape, -1, 1, dtype, Device::cpu(), gen).set_requires_grad(true);
}

using test::expect_gradcheck;

}  // namespace

TEST_CASE("layer kernels: the fast CPU kernels equal the reference, forward and backward") {
  Generator gen(1);
  const LayerKernels &fast = cpu::layer_kernels(), &ref = cpu::reference_layer_kernels();
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const double tol = dtype == DType::Float32 ? 1e-5 : 1e-12;
    for (bool prefix : {false, true}) {  // prefix: a channel prefix of a wider tensor (a dense block's buffer)
      for (const test::WindowCase& c : test::conv_cases())
        test::check_conv(fast, Device::cpu(), ref, c, prefix, dtype, tol, gen);
      for (const test::WindowCase& c : test::conv_cases())
        test::check_batch_norm(fast, Device::cpu(), ref, c, prefix, dtype, tol, gen);
      for (const test::WindowCase& c : test::pool_cases())
        test::check_pooling(fast, Device::cpu(), ref, c, prefix, dtype, tol, gen);
      for (const test::WindowCase& c : test::conv_cases())
        test::check_channel_scale(fast, Device::cpu(), ref, c, prefix, dtype, tol, gen);
    }
  }
}

TEST_CASE("layer kernels: DenseNet121's convolution shapes (batch 1, 64 px) on the fast path equal the reference") {
  Generator gen(2);
  for (const test::WindowCase& c : test::densenet121_conv_cases(1, 64))
    test::check_conv(cpu::layer_kernels(), Device::cpu(), cpu::reference_layer_kernels(), c, c.k == 1, DType::Float32,
                     1e-4, gen);
}

TEST_CASE("layer kernels: the fast convolution's sample groups (several samples per GEMM, a partial last group)") {
  // layers/cpu/conv.cpp takes about 2048 output columns per GEMM: maps of 48x48 (2304) one sample
  // at a time, of 30x30 (900) two at a time (5 samples: groups of 2, 2, 1), of 16x16 and 8x8 the
  // whole batch; 1x1 convolutions included, on channel prefixes too.
  Generator gen(3);
  const std::vector<test::WindowCase> cases{{3, 4, 48, 48, 5, 3, 1, 1, 1}, {3, 6, 48, 48, 4, 1, 1, 0, 1},
                                            {5, 4, 30, 30, 3, 3, 1, 1, 1}, {5, 6, 30, 30, 4, 1, 1, 0, 1},
                                            {5, 3, 31, 31, 4, 3, 2, 1, 1}, {4, 8, 16, 16, 6, 1, 1, 0, 1},
                                            {4, 8, 8, 8, 6, 3, 1, 1, 1}};
  for (bool prefix : {false, true})
    for (const test::WindowCase& c : cases)
      test::check_conv(cpu::layer_kernels(), Device::cpu(), cpu::reference_layer_kernels(), c, prefix, DType::Float32,
                       1e-5, gen);
}

namespace {

// Forces the CPU's convolution algorithm for a scope.
struct ScopedConvAlgo {
  explicit ScopedConvAlgo(const std::string& algo) { conv_settings().cpu_algo = algo; }
  ~ScopedConvAlgo() { conv_settings().cpu_algo = "auto"; }
};

// Every algorithm of the table, by name (im2col first).
std::vector<std::string> cpu_algos() {
  std::vector<std::string> names = cpu_conv_algo_names();
  names.erase(names.begin());  // "auto"
  return names;
}

}  // namespace

TEST_CASE("the convolutions' per-thread scratch comes from the CPU allocator: memory_stats counts it") {
  struct OneThread {  // parallel_for then runs on its caller alone, so the scratch is the caller's
    int before = num_threads();
    OneThread() { set_num_threads(1); }
    ~OneThread() { set_num_threads(before); }
  } one_thread;
  Generator gen(8);
  const test::WindowCase c{2, 16, 20, 20, 8, 3, 1, 1, 1};
  const WindowGeometry g = test::geometry_of(c, false);
  const Tensor x = rand({c.n, c.c, c.h, c.w}, -1, 1, DType::Float32, Device::cpu(), gen),
               w = rand({c.o, c.c, c.k, c.k}, -1, 1, DType::Float32, Device::cpu(), gen);
  Tensor y = Tensor::empty({c.n, c.o, g.oh, g.ow});
  for (const std::string& algo : cpu_algos()) {
    CAPTURE(algo);
    ScopedConvAlgo scoped(algo);
    size_t before = 0, during = 0;
    std::thread fresh([&] {  // a thread with no scratch yet
      before = memory_stats(Device::cpu()).current_bytes;
      cpu::layer_kernels().conv_forward(x, w, Tensor(), y, g);
      during = memory_stats(Device::cpu()).current_bytes;
    });
    fresh.join();
    CHECK(during > before);                                     // the scratch kept for the next call
    CHECK(memory_stats(Device::cpu()).current_bytes < during);  // given back when the thread ended
    CHECK(memory_stats(Device::cpu()).peak_bytes >= during);
  }
}

TEST_CASE("layer kernels: every CPU convolution algorithm equals the reference, forward and both backwards") {
  // Direct and Winograd at DenseNet121's shapes (batch 1, 64 px; the 1x1s over channel prefixes),
  // the small geometries (padding 0-2, stride, dilation: where an algorithm does not apply, the
  // fallback runs) and sample groups in float32 and float64 at the tolerances of the im2col parity
  // tests above.
  Generator gen(4);
  std::vector<test::WindowCase> small = test::conv_cases();
  small.push_back({5, 4, 30, 30, 3, 3, 1, 1, 1});  // several samples per group, a partial last one
  small.push_back({3, 5, 9, 9, 4, 3, 1, 0, 1});    // Winograd without padding, odd output size
  small.push_back({2, 3, 8, 7, 5, 3, 1, 2, 1});    // and with padding 2
  for (const std::string& algo : cpu_algos()) {
    CAPTURE(algo);
    ScopedConvAlgo forced(algo);
    for (bool prefix : {false, true}) {
      for (const test::WindowCase& c : test::densenet121_conv_cases(1, 64))
        test::check_conv(cpu::layer_kernels(), Device::cpu(), cpu::reference_layer_kernels(), c, prefix || c.k == 1,
                         DType::Float32, 1e-4, gen);
      for (DType dtype : {DType::Float32, DType::Float64})
        for (const test::WindowCase& c : small)
          test::check_conv(cpu::layer_kernels(), Device::cpu(), cpu::reference_layer_kernels(), c, prefix, dtype,
                           dtype == DType::Float32 ? 1e-5 : 1e-12, gen);
    }
  }
}

TEST_CASE("the CPU convolution algorithms: which applies where, what auto picks, a forced one that cannot falls back") {
  const Tensor x = zeros({2, 128, 7, 7});
  const WindowGeometry g3 = window_geometry(x, 32, 3, 3, 1, 1, 1, "test");  // DenseNet121's block 4 at 224 px
  const WindowGeometry big = window_geometry(zeros({2, 128, 56, 56}), 32, 3, 3, 1, 1, 1, "test");  // block 1
  const WindowGeometry g1 = window_geometry(x, 32, 1, 1, 1, 0, 1, "test");
  const WindowGeometry strided = window_geometry(x, 32, 3, 3, 2, 1, 1, "test");
  const WindowGeometry dilated = window_geometry(x, 32, 3, 3, 1, 2, 2, "test");
  using cpu::ConvPass;
  using cpu::conv_algorithm;
  CHECK(conv_algorithm(g3, ConvPass::Forward) == "direct");
  CHECK(conv_algorithm(g3, ConvPass::BackwardData) == "im2col");
  CHECK(conv_algorithm(g3, ConvPass::BackwardFilter) == "direct");
  CHECK(conv_algorithm(big, ConvPass::Forward) == "winograd");
  CHECK(conv_algorithm(big, ConvPass::BackwardData) == "winograd");
  CHECK(conv_algorithm(big, ConvPass::BackwardFilter) == "direct");
  CHECK(conv_algorithm(g1, ConvPass::Forward) == "im2col");  // a plain GEMM
  CHECK(conv_algorithm(strided, ConvPass::Forward) == "im2col");
  {
    ScopedConvAlgo forced("winograd");
    CHECK(conv_algorithm(g3, ConvPass::Forward) == "winograd");
    CHECK(conv_algorithm(g3, ConvPass::BackwardData) == "winograd");
    CHECK(conv_algorithm(g3, ConvPass::BackwardFilter) == "direct");  // auto's
    CHECK(conv_algorithm(dilated, ConvPass::Forward) == "direct");
    CHECK(conv_algorithm(strided, ConvPass::Forward) == "im2col");
  }
  {
    ScopedConvAlgo forced("direct");
    CHECK(conv_algorithm(g3, ConvPass::BackwardData) == "direct");
    CHECK(conv_algorithm(dilated, ConvPass::Forward) == "direct");
  }
  CHECK(parse_cpu_conv_algo("winograd") == "winograd");
  CHECK_THROWS_WITH_AS(parse_cpu_conv_algo("fft"), doctest::Contains("expected auto, im2col, direct or winograd"),
                       Error);
  CHECK(cpu_conv_algo_names() == std::vector<std::string>{"auto", "im2col", "direct", "winograd"});
}

TEST_CASE("the CPU convolution algorithms' table: every pass an algorithm claims to apply to exists") {
  std::vector<test::WindowCase> cases = test::conv_cases();
  for (const test::WindowCase& c : test::densenet121_conv_cases(1, 64)) cases.push_back(c);
  for (const test::WindowCase& c : cases) {
    const WindowGeometry g = test::geometry_of(c, false);
    for (const auto& a : cpu::conv_algorithms<float>()) {
      CAPTURE(a.name);
      CHECK((!a.applies(g, cpu::ConvPass::Forward) || a.forward));
      CHECK((!a.applies(g, cpu::ConvPass::BackwardData) || a.backward_data));
      CHECK((!a.applies(g, cpu::ConvPass::BackwardFilter) || a.backward_filter));
    }
  }
}

TEST_CASE("the CPU convolution algorithms' float32 error against float64, at DenseNet121's 3x3 shapes") {
  // Each algorithm's float32 result against the float64 reference on the same (float32) inputs:
  // the largest error relative to the output's largest magnitude. Winograd F(2x2, 3x3) adds the
  // transforms' roundings; it must stay within 4x im2col's, far inside the 1e-4 parity tolerance.
  Generator gen(5);
  for (const test::WindowCase& c :
       {test::WindowCase{1, 128, 56, 56, 32, 3, 1, 1, 1}, test::WindowCase{2, 128, 7, 7, 32, 3, 1, 1, 1}}) {
    const WindowGeometry g = test::geometry_of(c, false);
    const Tensor x = rand({c.n, c.c, c.h, c.w}, -1, 1, DType::Float32, Device::cpu(), gen);
    const Tensor w = rand({c.o, c.c, 3, 3}, -0.1, 0.1, DType::Float32, Device::cpu(), gen);
    const Tensor gy = rand({c.n, c.o, g.oh, g.ow}, -1, 1, DType::Float32, Device::cpu(), gen);
    Tensor y64 = Tensor::empty({c.n, c.o, g.oh, g.ow}, DType::Float64), gx64 = Tensor::empty(x.shape(), DType::Float64);
    cpu::reference_layer_kernels().conv_forward(x.to(DType::Float64), w.to(DType::Float64), Tensor(), y64, g);
    cpu::reference_layer_kernels().conv_backward_data(w.to(DType::Float64), gy.to(DType::Float64), gx64, g);
    auto error = [](const Tensor& got, const Tensor& want) {
      const std::vector<double> a = got.to_vector<double>(), b = want.to_vector<double>();
      double err = 0, scale = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        err = std::max(err, std::abs(a[i] - b[i]));
        scale = std::max(scale, std::abs(b[i]));
      }
      return err / scale;
    };
    const std::vector<std::string> algos = cpu_algos();
    std::vector<double> forward(algos.size()), data(algos.size());
    for (size_t a = 0; a < algos.size(); ++a) {
      ScopedConvAlgo forced(algos[a]);
      Tensor y = Tensor::empty(y64.shape()), gx = Tensor::empty(x.shape());
      cpu::layer_kernels().conv_forward(x, w, Tensor(), y, g);
      cpu::layer_kernels().conv_backward_data(w, gy, gx, g);
      forward[a] = error(y, y64);
      data[a] = error(gx, gx64);
      MESSAGE(c.h, "x", c.w, " ", algos[a], ": forward ", forward[a], ", backward data ", data[a]);
    }
    for (size_t a = 1; a < algos.size(); ++a) {
      CHECK(forward[a] <= 4 * forward[0]);
      CHECK(data[a] <= 4 * data[0]);
    }
  }
}

TEST_CASE("conv2d: an input that needs no gradient gets none, and its backward-data kernel does not run") {
  Tensor x = rand({1, 2, 5, 5}), w = rand({3, 2, 3, 3}).set_requires_grad(true);
  Tensor y = conv2d(x, w, Tensor(), {.padding = 1});
  const autograd::NeedsGrad needs = y.grad_fn()->needs;
  CHECK(needs == autograd::NeedsGrad{false, true, false});
  const std::vector<Tensor> grads = y.grad_fn()->backward(ones(y.shape()), needs);
  CHECK(!grads[0].defined());
  CHECK(grads[1].defined());
}

TEST_CASE("the layer kernels of a CUDA device that cannot be used are a clear error") {
  if (cuda_is_available()) return;  // the CUDA suite covers the GPU side
  INFO(cuda_unavailable_reason());
  CHECK_THROWS_WITH_AS(layer_kernels_for(Device::cuda(0)), doctest::Contains("CUDA device cuda:0 requested, but"),
                       Error);
}

TEST_CASE("gradcheck: conv2d with bias, stride, padding and dilation") {
  expect_gradcheck([](V t) { return conv2d(t[0], t[1], t[2], {.stride = 1, .padding = 1}); },
                   {input({2, 2, 5, 4}, 1), input({3, 2, 3, 3}, 2), input({3}, 3)});
  expect_gradcheck([](V t) { return conv2d(t[0], t[1], Tensor(), {.stride = 2, .padding = 2, .dilation = 2}); },
                   {input({1, 2, 7, 6}, 4), input({2, 2, 3, 3}, 5)});
  expect_gradcheck([](V t) { return conv2d(t[0], t[1]); }, {input({2, 3, 3, 3}, 6), input({2, 3, 1, 1}, 7)});
}

TEST_CASE("gradcheck: batch_norm in training and eval mode") {
  Tensor rm = from_vector({0.1, -0.2, 0.3}, {3}, DType::Float64), rv = from_vector({0.5, 1, 2}, {3}, DType::Float64);
  expect_gradcheck([&](V t) { return batch_norm(t[0], t[1], t[2], rm, rv, true).y; },
                   {input({2, 3, 2, 3}, 8), input({3}, 9), input({3}, 10)});
  expect_gradcheck([&](V t) { return batch_norm(t[0], t[1], t[2], rm, rv, false).y; },
                   {input({2, 3, 2, 3}, 11), input({3}, 12), input({3}, 13)});
  expect_gradcheck([&](V t) { return batch_norm(t[0], Tensor(), Tensor(), Tensor(), Tensor(), true).y; },
                   {input({4, 3}, 14)});
  // A channel slice of a wider tensor (the dense block case).
  expect_gradcheck([&](V t) { return batch_norm(slice(t[0], 1, 0, 2), t[1], t[2], Tensor(), Tensor(), true).y; },
                   {input({2, 4, 2, 2}, 15), input({2}, 16), input({2}, 17)});
  expect_gradcheck(
      [&](V t) {
        return batch_norm(slice(t[0], 1, 0, 2), t[1], t[2], slice(rm, 0, 0, 2), slice(rv, 0, 0, 2), false).y;
      },
      {input({2, 4, 2, 2}, 18), input({2}, 19), input({2}, 20)});
}

TEST_CASE("batch_norm with the fused ReLU: gradcheck, and equal to relu(batch_norm) forward and backward") {
  Tensor rm = from_vector({0.1, -0.2, 0.3}, {3}, DType::Float64), rv = from_vector({0.5, 1, 2}, {3}, DType::Float64);
  for (bool training : {true, false}) {
    CAPTURE(training);
    expect_gradcheck([&](V t) { return batch_norm(t[0], t[1], t[2], rm, rv, training, 1e-5, true).y; },
                     {input({2, 3, 2, 3}, 21), input({3}, 22), input({3}, 23)});
    // The same values and gradients as the two ops one after the other.
    const std::vector<Tensor> a{input({3, 3, 4, 2}, 24), input({3}, 25), input({3}, 26)};
    const std::vector<Tensor> b{a[0].detach().set_requires_grad(true), a[1].detach().set_requires_grad(true),
                                a[2].detach().set_requires_grad(true)};
    const Tensor fused = batch_norm(a[0], a[1], a[2], rm, rv, training, 1e-5, true).y;
    const Tensor apart = relu(batch_norm(b[0], b[1], b[2], rm, rv, training).y);
    test::check_close(fused, apart, 1e-14, 1e-14, "forward");
    const Tensor gy = input({3, 3, 4, 2}, 27).detach();
    backward(sum(fused * gy));
    backward(sum(apart * gy));
    for (size_t i = 0; i < 3; ++i) test::check_close(a[i].grad(), b[i].grad(), 1e-12, 1e-12, "gradient");
  }
  // A NaN passes through, as relu() lets it: a diverged run must not turn into zeros.
  Tensor x = from_vector({1, std::nan(""), -1, 2}, {2, 2}, DType::Float32);
  for (const LayerKernels* k : {&cpu::layer_kernels(), &cpu::reference_layer_kernels()}) {
    Tensor y = Tensor::empty({2, 2});
    k->batch_norm_elemt(x, Tensor(), Tensor(), zeros({2}), ones({2}), 0.0, true, y);
    const std::vector<float> v = y.to_vector<float>();
    CHECK(v[0] == 1.0f);
    CHECK(std::isnan(v[1]));
    CHECK(v[2] == 0.0f);
  }
}

TEST_CASE("batch_norm is pure; BatchNorm2d updates running statistics like PyTorch (momentum, unbiased variance)") {
  Tensor x = from_vector({1, 2, 3, 4, 10, 20, 30, 40}, {2, 2, 2, 1}, DType::Float64);  // channel 0: 1,2,10,20
  Tensor rm = zeros({2}, DType::Float64), rv = ones({2}, DType::Float64);
  const BatchNormOutput out = batch_norm(x, Tensor(), Tensor(), rm, rv, true, 1e-5);
  // channel 0: mean 8.25, biased var 58.1875, unbiased 77.5833; channel 1: 3,4,30,40 mean 19.25
  CHECK(rm.to_vector<double>() == std::vector<double>{0, 0});  // untouched
  CHECK(out.batch_mean.to_vector<double>()[0] == doctest::Approx(8.25));
  CHECK(out.batch_var.to_vector<double>()[0] == doctest::Approx(58.1875 * 4 / 3));
  CHECK(out.batch_mean.to_vector<double>()[1] == doctest::Approx(19.25));

  BatchNorm2d bn(2, 1e-5, 0.1);
  bn.to(DType::Float64);
  bn.forward(x);
  CHECK(bn.running_mean.to_vector<double>()[0] == doctest::Approx(0.1 * 8.25));
  CHECK(bn.running_var.to_vector<double>()[0] == doctest::Approx(0.9 + 0.1 * 58.1875 * 4 / 3));
  CHECK(bn.running_mean.to_vector<double>()[1] == doctest::Approx(0.1 * 19.25));
  CHECK(bn.num_batches_tracked.item<int64_t>() == 1);
  // Eval mode uses the running statistics.
  const Tensor y = batch_norm(x, Tensor(), Tensor(), bn.running_mean, bn.running_var, false, 0.0).y;
  CHECK(y.to_vector<double>()[0] == doctest::Approx((1 - 0.825) / std::sqrt(0.9 + 0.1 * 58.1875 * 4 / 3)));
}

TEST_CASE("gradcheck: max and average pooling, global average pooling") {
  expect_gradcheck([](V t) { return max_pool2d(t[0], 3, 2, 1); }, {input({2, 2, 5, 6}, 18)});
  expect_gradcheck([](V t) { return max_pool2d(t[0], 2, 2); }, {input({1, 3, 4, 4}, 19)});
  expect_gradcheck([](V t) { return avg_pool2d(t[0], 2, 2); }, {input({2, 2, 4, 5}, 20)});
  expect_gradcheck([](V t) { return avg_pool2d(t[0], 3, 2, 1); }, {input({1, 2, 5, 5}, 21)});
  expect_gradcheck([](V t) { return global_avg_pool2d(t[0]); }, {input({2, 3, 3, 2}, 22)});
}

TEST_CASE("pooling: max pool's padding is never the maximum; avg pool counts padding as zeros") {
  const Tensor negative = full({1, 1, 2, 2}, -5.0);
  CHECK(max_pool2d(negative, 3, 2, 1).to_vector<float>() == std::vector<float>{-5});
  const Tensor x = from_vector({1, 2, 3, 4}, {1, 1, 2, 2});
  CHECK(avg_pool2d(x, 2, 2).to_vector<float>() == std::vector<float>{2.5f});
  CHECK(avg_pool2d(x, 3, 2, 1).to_vector<float>()[0] == doctest::Approx(10.0 / 9));
  CHECK_THROWS_WITH_AS(max_pool2d(zeros({1, 1, 2}), 2, 2), doctest::Contains("max_pool2d: expected input [N, C, H, W]"),
                       Error);
}

TEST_CASE("gradcheck: channel_scale, on a channel prefix too, and the squeeze-and-excitation module") {
  expect_gradcheck([](V t) { return channel_scale(t[0], t[1]); }, {input({2, 3, 3, 4}, 30), input({2, 3}, 31)});
  expect_gradcheck([](V t) { return channel_scale(slice(t[0], 1, 0, 2), t[1]); },
                   {input({2, 4, 3, 3}, 32), input({2, 2}, 33)});
  Generator gen(34);
  SqueezeExcite se(8, 4, gen);
  se.to(DType::Float64);
  expect_gradcheck([&](V t) { return se.forward(t[0]); }, {input({2, 8, 3, 3}, 35)});
  expect_gradcheck(
      [&](V t) {  // and through its parameters: fc1's weight stands in for the module's
        Tensor saved = se.fc1->weight;
        se.fc1->weight = t[1];
        Tensor y = se.forward(t[0]);
        se.fc1->weight = saved;
        return y;
      },
      {input({2, 8, 2, 2}, 36), input({2, 8}, 37)});
  CHECK_THROWS_WITH_AS(channel_scale(zeros({2, 3, 4, 4}), zeros({2, 4})),
                       doctest::Contains("channel_scale: expected scales [2, 3] for x [2, 3, 4, 4], got [2, 4]"),
                       Error);
}

TEST_CASE("gradcheck: linear and dropout") {
  expect_gradcheck([](V t) { return linear(t[0], t[1], t[2]); },
                   {input({3, 4}, 23), input({2, 4}, 24), input({2}, 25)});
  expect_gradcheck(
      [](V t) {
        Generator gen(7);  // the same mask on every evaluation
        return dropout(t[0], 0.3, true, gen);
      },
      {input({4, 5}, 26)});
  const Tensor x = ones({1000});
  Generator gen(3);
  const auto kept = dropout(x, 0.25, true, gen).to_vector<float>();
  int zeros_seen = 0;
  for (float v : kept) {
    CHECK((v == 0.0f || v == doctest::Approx(1 / 0.75)));
    zeros_seen += v == 0.0f;
  }
  CHECK(zeros_seen == doctest::Approx(250).epsilon(0.25));
  CHECK(dropout(x, 0.25, false).same(x));
}

TEST_CASE("layer errors name the op and the shapes") {
  CHECK_THROWS_WITH_AS(
      conv2d(zeros({1, 3, 8, 8}), zeros({4, 2, 3, 3})),
      doctest::Contains("conv2d: weight [4, 2, 3, 3] expects 2 input channels, the input [1, 3, 8, 8] has 3"), Error);
  CHECK_THROWS_WITH_AS(conv2d(zeros({1, 3, 2, 2}), zeros({4, 3, 3, 3})),
                       doctest::Contains("is smaller than the (dilated) kernel"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(zeros({2, 3, 4, 4}), zeros({4}), Tensor(), Tensor(), Tensor(), true).y,
                       doctest::Contains("batch_norm: the weight should be [3], got [4]"), Error);
  CHECK_THROWS_WITH_AS(linear(zeros({2, 3}), zeros({4, 2})),
                       doctest::Contains("linear: expected x [N, in] and weight [out, in]"), Error);
}

TEST_CASE("a layer's parameters of another dtype are refused with what they are") {
  const Tensor x = zeros({1, 3, 8, 8}), w64 = zeros({4, 3, 3, 3}, DType::Float64);
  CHECK_THROWS_WITH_AS(conv2d(x, w64),
                       doctest::Contains("conv2d: dtype mismatch: float32 vs float64 (the weight; shapes"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, Tensor(), zeros({3}, DType::Float64), Tensor(), Tensor(), true).y,
                       doctest::Contains("batch_norm: dtype mismatch: float32 vs float64 (the bias;"), Error);
  CHECK_THROWS_WITH_AS(channel_scale(x, zeros({1, 3}, DType::Float64)),
                       doctest::Contains("channel_scale: dtype mismatch: float32 vs float64 (the scales;"), Error);
}

TEST_CASE("an empty batch goes through every layer op, forward and backward") {
  test::check_empty_batch(Device::cpu());
}

TEST_CASE("batch norm's statistics do not depend on what reused memory held") {
  test::check_batch_norm_ignores_reused_bytes(cpu::layer_kernels(), Device::cpu(), cpu::reference_layer_kernels());
}

TEST_CASE("every entry of both CPU tables of layer kernels is set") {
  CHECK(test::null_entries(cpu::layer_kernels()).empty());
  CHECK(test::null_entries(cpu::reference_layer_kernels()).empty());
  CHECK(test::null_entries(LayerKernels{}).size() == sizeof(LayerKernels) / sizeof(void*));
}
