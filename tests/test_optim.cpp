// Optimizers: one step by hand, and convergence on a quadratic.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "helpers.h"
#include "optim/adam.h"
#include "tensor/backend.h"
#include "tensor/cpu/reference.h"
#include "optim/plateau.h"
#include "optim/sgd.h"

using namespace rg;

TEST_CASE("SGD: one plain step and two momentum steps, worked out by hand") {
  Tensor p = from_vector({1.0, -2.0}, {2}, DType::Float64).set_requires_grad(true);
  SGD plain({p}, {.lr = 0.1});
  backward(sum(p * p));  // grad = 2p = [2, -4]
  plain.step();
  CHECK(p.to_vector<double>() == std::vector<double>{1.0 - 0.2, -2.0 + 0.4});

  Tensor q = from_vector({1.0}, {1}, DType::Float64).set_requires_grad(true);
  SGD momentum({q}, {.lr = 0.5, .momentum = 0.9, .weight_decay = 0.1});
  backward(sum(q * 3.0));  // grad 3, + 0.1 * 1 = 3.1 ; v = 3.1 ; q = 1 - 1.55 = -0.55
  momentum.step();
  CHECK(q.item() == doctest::Approx(-0.55));
  momentum.zero_grad();
  CHECK_FALSE(q.grad().defined());
  backward(sum(q * 3.0));  // g = 3 - 0.055 = 2.945 ; v = 0.9 * 3.1 + 2.945 = 5.735 ; q = -0.55 - 2.8675
  momentum.step();
  CHECK(q.item() == doctest::Approx(-0.55 - 0.5 * 5.735));
}

TEST_CASE("SGD minimizes a quadratic") {
  Tensor target = from_vector({3, -1, 2}, {3});
  Tensor x = zeros({3}).set_requires_grad(true);
  SGD opt({x}, {.lr = 0.1, .momentum = 0.5});
  for (int i = 0; i < 200; ++i) {
    opt.zero_grad();
    backward(sum(pow(x - target, 2)));
    opt.step();
  }
  test::check_close(x, target, 1e-4, 0);
}

TEST_CASE("SGD refuses parameters that cannot learn") {
  CHECK_THROWS_WITH_AS(SGD({ones({2})}, {}),
                       doctest::Contains("SGD: parameter 0 must be a leaf tensor with requires_grad"), Error);
  Tensor p = ones({2}).set_requires_grad(true);
  CHECK_THROWS_WITH_AS(SGD({p}, {.lr = 0}), doctest::Contains("learning rate must be positive"), Error);
}

TEST_CASE("Adam: PyTorch's first steps, worked out by hand") {
  Tensor p = from_vector({1.0, -2.0}, {2}, DType::Float64).set_requires_grad(true);
  Adam adam({p}, {.lr = 0.1});
  backward(sum(p * p));  // g = [2, -4]; m_hat = g, v_hat = g^2 -> step = lr * g / (|g| + eps)
  adam.step();
  CHECK(p.to_vector<double>()[0] == doctest::Approx(1.0 - 0.1 * 2 / (2 + 1e-8)));
  CHECK(p.to_vector<double>()[1] == doctest::Approx(-2.0 + 0.1 * 4 / (4 + 1e-8)));
  adam.zero_grad();
  backward(sum(p * p));  // g2 = 2 p1
  const auto p1 = std::vector<double>{0.9, -1.9};
  adam.step();
  for (int i = 0; i < 2; ++i) {
    const double g1 = i == 0 ? 2.0 : -4.0, g2 = 2 * p1[i];
    const double m = 0.9 * 0.1 * g1 + 0.1 * g2, v = 0.999 * 0.001 * g1 * g1 + 0.001 * g2 * g2;
    const double expected = p1[i] - 0.1 * (m / (1 - 0.81)) / (std::sqrt(v / (1 - 0.999 * 0.999)) + 1e-8);
    CHECK(p.to_vector<double>()[i] == doctest::Approx(expected));
  }
  CHECK(adam.steps() == 2);
}

TEST_CASE("Adam minimizes a quadratic; weight decay pulls towards zero") {
  Tensor target = from_vector({3, -1, 2}, {3});
  Tensor x = zeros({3}).set_requires_grad(true);
  Adam opt({x}, {.lr = 0.1});
  for (int i = 0; i < 500; ++i) {
    opt.zero_grad();
    backward(sum(pow(x - target, 2)));
    opt.step();
  }
  test::check_close(x, target, 1e-2, 0);
  // With weight decay wd the gradient is 2 (x - target) + wd x, so Adam settles where it is zero:
  // x = 2 target / (2 + wd) — pulled towards zero from the target.
  Tensor y = zeros({3}).set_requires_grad(true);
  Adam decayed({y}, {.lr = 0.05, .weight_decay = 1.0});
  for (int i = 0; i < 2000; ++i) {
    decayed.zero_grad();
    backward(sum(pow(y - target, 2)));
    decayed.step();
  }
  test::check_close(y, target * (2.0 / 3.0), 2e-3, 0);
  CHECK_THROWS_WITH_AS(Adam({x}, {.beta1 = 1.0}), doctest::Contains("betas must be in [0, 1)"), Error);
}

TEST_CASE("plateau schedule: reduces after patience, waits out the cooldown, respects min_lr") {
  PlateauSchedule s({.factor = 0.5, .patience = 2, .cooldown = 1, .min_lr = 0.2});
  double lr = 1.0;
  for (double loss : {1.0, 0.9, 0.95, 0.95}) lr = s.step(loss, lr);
  CHECK(lr == 1.0);       // two bad epochs: not more than the patience yet
  lr = s.step(0.95, lr);  // the third: halve
  CHECK(lr == 0.5);
  for (int i = 0; i < 3; ++i) lr = s.step(0.95, lr);  // cooldown, then two more bad epochs
  CHECK(lr == 0.5);
  lr = s.step(0.95, lr);
  CHECK(lr == doctest::Approx(0.25));
  for (int i = 0; i < 10; ++i) lr = s.step(0.95, lr);
  CHECK(lr == doctest::Approx(0.2));  // min_lr
  PlateauSchedule up({.maximize = true, .patience = 0});
  CHECK(up.step(0.7, 1.0) == 1.0);
  CHECK(up.step(0.8, 1.0) == 1.0);
  CHECK(up.step(0.75, 1.0) == doctest::Approx(0.1));
}

TEST_CASE("the fused update kernel: the fast CPU pass equals the reference, for SGD and Adam, float32 and float64") {
  Generator gen(9);
  const UpdateRule rules[] = {{.kind = UpdateRule::Kind::Sgd, .lr = 0.1},
                              {.kind = UpdateRule::Kind::Sgd, .lr = 0.05, .weight_decay = 0.01, .momentum = 0.9},
                              {.kind = UpdateRule::Kind::Adam,
                               .lr = 1e-3,
                               .beta1 = 0.9,
                               .beta2 = 0.999,
                               .eps = 1e-8,
                               .bias1 = 0.19,
                               .bias2 = 0.003},
                              {.kind = UpdateRule::Kind::Adam,
                               .lr = 1e-2,
                               .weight_decay = 0.1,
                               .beta1 = 0.8,
                               .beta2 = 0.99,
                               .eps = 1e-6,
                               .bias1 = 0.5,
                               .bias2 = 0.1}};
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const UpdateRule& rule : rules) {
      const int64_t n = 100003;  // above the parallel grain, odd
      const Tensor p = rand({n}, -1, 1, dtype, Device::cpu(), gen), g = rand({n}, -1, 1, dtype, Device::cpu(), gen);
      const Tensor m = rand({n}, -1, 1, dtype, Device::cpu(), gen), v = rand({n}, 0, 1, dtype, Device::cpu(), gen);
      Tensor p1 = p.to(dtype), m1 = m.to(dtype), v1 = v.to(dtype), p2 = p.to(dtype), m2 = m.to(dtype), v2 = v.to(dtype);
      Tensor none;
      const bool sgd = rule.kind == UpdateRule::Kind::Sgd;
      backend_for(Device::cpu()).update(rule, p1, g, m1, sgd ? none : v1);
      cpu::reference::backend().update(rule, p2, g, m2, sgd ? none : v2);
      test::check_close(p1, p2, 0, 0, "p");
      test::check_close(m1, m2, 0, 0, "m");
      CHECK(p1.to_vector<double>() != p.to_vector<double>());  // it did move
    }
}

TEST_CASE("Adam's fused step equals the composed formula (m, v, bias correction, weight decay) over 3 steps") {
  Generator gen(10);
  Tensor w = rand({7, 5}, -1, 1, DType::Float64, Device::cpu(), gen).set_requires_grad(true);
  Tensor m = zeros({7, 5}, DType::Float64), v = zeros({7, 5}, DType::Float64), expected = w.detach().to(DType::Float64);
  const AdamOptions o{.lr = 0.01, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.05};
  Adam adam({w}, o);
  for (int step = 1; step <= 3; ++step) {
    const Tensor g = rand({7, 5}, -1, 1, DType::Float64, Device::cpu(), gen);
    w.set_grad(g);
    adam.step();
    const Tensor gd = g + o.weight_decay * expected;
    m = o.beta1 * m + (1 - o.beta1) * gd;
    v = o.beta2 * v + (1 - o.beta2) * gd * gd;
    expected =
        expected - o.lr * (m / (1 - std::pow(o.beta1, step))) / (sqrt(v / (1 - std::pow(o.beta2, step))) + o.eps);
    test::check_close(w, expected, 1e-14, 1e-12, "step " + std::to_string(step));
  }
}

TEST_CASE("Adam::load_state refuses moments of the wrong shape") {
  Tensor w = zeros({3, 2}).set_requires_grad(true);
  Adam adam({w}, AdamOptions{});
  CHECK_THROWS_WITH_AS(
      adam.load_state(1, {zeros({2, 3})}, {zeros({3, 2})}),
      doctest::Contains("Adam::load_state: the moments of parameter 0 are [2, 3] and [3, 2], the parameter is [3, 2]"),
      Error);
  CHECK_THROWS_WITH_AS(adam.load_state(1, {zeros({1})}, {zeros({1})}), doctest::Contains("are [1] and [1]"), Error);
}
