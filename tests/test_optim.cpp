// Optimizers: one step by hand, and convergence on a quadratic.
#include <doctest/doctest.h>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "helpers.h"
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
  CHECK_THROWS_WITH_AS(SGD({ones({2})}, {}), doctest::Contains("SGD: parameter 0 must be a leaf tensor with requires_grad"), Error);
  Tensor p = ones({2}).set_requires_grad(true);
  CHECK_THROWS_WITH_AS(SGD({p}, {.lr = 0}), doctest::Contains("learning rate must be positive"), Error);
}
