// Layer ops: conv2d's GEMM path against its reference, gradcheck for every op, batch norm's
// running statistics, pooling's padding rules.
#include <doctest/doctest.h>

#include "autograd/engine.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "helpers.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/functional.h"
#include "layers/pooling.h"

using namespace rg;
using V = const std::vector<Tensor>&;

namespace {

Tensor input(const Shape& shape, uint64_t seed, DType dtype = DType::Float64) {
  Generator gen(seed);
  return rand(shape, -1, 1, dtype, Device::cpu(), gen).set_requires_grad(true);
}

void expect_gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs) {
  const GradcheckResult r = gradcheck(fn, inputs);
  INFO(r.message);
  CHECK(r.ok);
  CHECK(r.compared > 0);
}

}  // namespace

TEST_CASE("conv2d: the GEMM path equals the reference, forward and backward, on random geometries") {
  Generator gen(1);
  struct Case { int64_t n, c, h, w, o, k, stride, pad, dil; };
  const Case cases[] = {{2, 3, 7, 9, 4, 3, 1, 1, 1}, {1, 5, 8, 8, 6, 1, 1, 0, 1}, {2, 4, 9, 7, 3, 3, 2, 1, 1},
                        {1, 2, 11, 10, 3, 7, 2, 3, 1}, {2, 3, 9, 9, 2, 3, 1, 2, 2}, {1, 4, 6, 5, 5, 1, 2, 0, 1},
                        {3, 2, 5, 5, 2, 5, 1, 0, 1}};
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const Case& c : cases)
      for (bool sliced : {false, true}) {
        CAPTURE(c.c); CAPTURE(c.k); CAPTURE(c.stride); CAPTURE(c.pad); CAPTURE(c.dil); CAPTURE(sliced);
        // sliced: the input is a channel prefix of a wider tensor (as in a dense block's buffer).
        Tensor wide = rand({c.n, c.c + (sliced ? 3 : 0), c.h, c.w}, -1, 1, dtype, Device::cpu(), gen);
        Tensor x = slice(wide, 1, 0, c.c);
        Tensor w = rand({c.o, c.c, c.k, c.k}, -1, 1, dtype, Device::cpu(), gen);
        Tensor b = rand({c.o}, -1, 1, dtype, Device::cpu(), gen);
        Conv2dGeometry g{c.n, c.c, c.h, c.w, c.o, c.k, c.k, 0, 0, c.stride, c.stride, c.pad, c.pad, c.dil, c.dil};
        g.oh = (c.h + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride + 1;
        g.ow = (c.w + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride + 1;
        Tensor fast = Tensor::empty({c.n, c.o, g.oh, g.ow}, dtype), ref = Tensor::empty({c.n, c.o, g.oh, g.ow}, dtype);
        cpu::conv::forward(x, w, b, fast, g);
        cpu::conv::reference::forward(x, w, b, ref, g);
        const double tol = dtype == DType::Float32 ? 1e-5 : 1e-12;
        test::check_close(fast, ref, tol, tol, "forward");

        Tensor gy = rand(fast.shape(), -1, 1, dtype, Device::cpu(), gen);
        Tensor gx1 = Tensor::empty({c.n, c.c, c.h, c.w}, dtype), gx2 = Tensor::empty({c.n, c.c, c.h, c.w}, dtype);
        Tensor gw1 = Tensor::empty(w.shape(), dtype), gw2 = Tensor::empty(w.shape(), dtype);
        Tensor gb1 = Tensor::empty({c.o}, dtype), gb2 = Tensor::empty({c.o}, dtype);
        cpu::conv::backward(x, w, gy, &gx1, &gw1, &gb1, g);
        cpu::conv::reference::backward(x, w, gy, &gx2, &gw2, &gb2, g);
        test::check_close(gx1, gx2, tol, tol, "grad input");
        test::check_close(gw1, gw2, tol * 10, tol, "grad weight");
        test::check_close(gb1, gb2, tol * 10, tol, "grad bias");
      }
}

TEST_CASE("gradcheck: conv2d with bias, stride, padding and dilation") {
  expect_gradcheck([](V t) { return conv2d(t[0], t[1], t[2], {.stride = 1, .padding = 1}); },
                   {input({2, 2, 5, 4}, 1), input({3, 2, 3, 3}, 2), input({3}, 3)});
  expect_gradcheck([](V t) { return conv2d(t[0], t[1], Tensor(), {.stride = 2, .padding = 2, .dilation = 2}); },
                   {input({1, 2, 7, 6}, 4), input({2, 2, 3, 3}, 5)});
  expect_gradcheck([](V t) { return conv2d(t[0], t[1]); }, {input({2, 3, 3, 3}, 6), input({2, 3, 1, 1}, 7)});
}

TEST_CASE("gradcheck: batch_norm in training and eval mode") {
  Tensor rm = zeros({3}, DType::Float64), rv = ones({3}, DType::Float64);
  expect_gradcheck([&](V t) { return batch_norm(t[0], t[1], t[2], rm, rv, true); },
                   {input({2, 3, 2, 3}, 8), input({3}, 9), input({3}, 10)});
  expect_gradcheck([&](V t) { return batch_norm(t[0], t[1], t[2], rm, rv, false); },
                   {input({2, 3, 2, 3}, 11), input({3}, 12), input({3}, 13)});
  expect_gradcheck([&](V t) { return batch_norm(t[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
                   {input({4, 3}, 14)});
  // A channel slice of a wider tensor (the dense block case).
  expect_gradcheck([&](V t) { return batch_norm(slice(t[0], 1, 0, 2), t[1], t[2], Tensor(), Tensor(), true); },
                   {input({2, 4, 2, 2}, 15), input({2}, 16), input({2}, 17)});
}

TEST_CASE("batch_norm updates running statistics like PyTorch (momentum, unbiased variance)") {
  Tensor x = from_vector({1, 2, 3, 4, 10, 20, 30, 40}, {2, 2, 2, 1}, DType::Float64);  // channel 0: 1,2,10,20
  Tensor rm = zeros({2}, DType::Float64), rv = ones({2}, DType::Float64);
  batch_norm(x, Tensor(), Tensor(), rm, rv, true, 0.1, 1e-5);
  // channel 0: mean 8.25, biased var 58.1875, unbiased 76.9167; channel 1: 3,4,30,40 mean 19.25
  CHECK(rm.to_vector<double>()[0] == doctest::Approx(0.1 * 8.25));
  CHECK(rv.to_vector<double>()[0] == doctest::Approx(0.9 + 0.1 * 58.1875 * 4 / 3));
  CHECK(rm.to_vector<double>()[1] == doctest::Approx(0.1 * 19.25));
  // Eval mode uses the running statistics.
  const Tensor y = batch_norm(x, Tensor(), Tensor(), rm, rv, false, 0.1, 0.0);
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
  CHECK_THROWS_WITH_AS(max_pool2d(zeros({1, 1, 2}), 2, 2), doctest::Contains("max_pool2d: expected input [N, C, H, W]"), Error);
}

TEST_CASE("gradcheck: linear and dropout") {
  expect_gradcheck([](V t) { return linear(t[0], t[1], t[2]); }, {input({3, 4}, 23), input({2, 4}, 24), input({2}, 25)});
  expect_gradcheck([](V t) {
    Generator gen(7);  // the same mask on every evaluation
    return dropout(t[0], 0.3, true, gen);
  }, {input({4, 5}, 26)});
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
  CHECK_THROWS_WITH_AS(conv2d(zeros({1, 3, 8, 8}), zeros({4, 2, 3, 3})),
                       doctest::Contains("conv2d: weight [4, 2, 3, 3] expects 2 input channels, the input [1, 3, 8, 8] has 3"), Error);
  CHECK_THROWS_WITH_AS(conv2d(zeros({1, 3, 2, 2}), zeros({4, 3, 3, 3})), doctest::Contains("is smaller than the (dilated) kernel"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(zeros({2, 3, 4, 4}), zeros({4}), Tensor(), Tensor(), Tensor(), true),
                       doctest::Contains("batch_norm: the weight should be [3], got [4]"), Error);
  CHECK_THROWS_WITH_AS(linear(zeros({2, 3}), zeros({4, 2})), doctest::Contains("linear: expected x [N, in] and weight [out, in]"), Error);
}
