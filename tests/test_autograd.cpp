// The autograd engine: gradients by hand, accumulation, retain_grad, no-grad, graph freeing.
#include <doctest/doctest.h>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "helpers.h"

using namespace rg;

TEST_CASE("a small expression has the gradients worked out by hand") {
  // f = sum(x * w + x^2) ; df/dx = w + 2x ; df/dw = x
  Tensor x = from_vector({1, 2, 3}, {3}, DType::Float64).set_requires_grad(true);
  Tensor w = from_vector({4, 5, 6}, {3}, DType::Float64).set_requires_grad(true);
  Tensor f = sum(x * w + pow(x, 2));
  CHECK(f.item() == doctest::Approx(4 + 10 + 18 + 1 + 4 + 9));
  backward(f);
  CHECK(x.grad().to_vector<double>() == std::vector<double>{6, 9, 12});
  CHECK(w.grad().to_vector<double>() == std::vector<double>{1, 2, 3});
}

TEST_CASE("gradients accumulate over backward calls until zeroed") {
  Tensor x = from_vector({1, 2}, {2}, DType::Float64).set_requires_grad(true);
  backward(sum(x * 3.0));
  backward(sum(x * 3.0));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{6, 6});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  backward(sum(x * x));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 4});
}

TEST_CASE("a .grad set beforehand is added into where it lies (the gradient reducer's bucket views)") {
  Tensor x = from_vector({1, 2}, {2}, DType::Float64).set_requires_grad(true);
  Tensor buffer = zeros({4}, DType::Float64);
  const Tensor place = slice(buffer, 0, 1, 3);
  x.set_grad(place);
  backward(sum(x * 3.0));
  CHECK(x.grad().storage() == buffer.storage());
  CHECK(buffer.to_vector<double>() == std::vector<double>{0, 3, 3, 0});
  x.set_grad(zeros({3}, DType::Float64));
  CHECK_THROWS_WITH_AS(backward(sum(x * 3.0)), doctest::Contains("has shape [3], its gradient [2]"), Error);
}

TEST_CASE("a tensor used twice gets both contributions") {
  Tensor x = from_vector({3}, {1}, DType::Float64).set_requires_grad(true);
  Tensor y = x * x * x;  // dy/dx = 3 x^2 = 27
  backward(sum(y));
  CHECK(x.grad().item() == doctest::Approx(27));
}

TEST_CASE("backward with a given gradient for a non-scalar output") {
  Tensor x = from_vector({1, 2, 3}, {3}, DType::Float64).set_requires_grad(true);
  Tensor y = x * 2.0;
  backward(y, from_vector({1, 10, 100}, {3}, DType::Float64));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 20, 200});
}

TEST_CASE("retain_grad keeps an intermediate gradient; others are not kept") {
  Tensor x = from_vector({1, 2}, {2}, DType::Float64).set_requires_grad(true);
  Tensor h = x * 3.0;
  Tensor k = h + 1.0;
  h.retain_grad();
  backward(sum(k * k));  // d/dh = 2 (h + 1)
  CHECK(h.grad().to_vector<double>() == std::vector<double>{8, 14});
  CHECK_FALSE(k.grad().defined());
  CHECK(x.grad().to_vector<double>() == std::vector<double>{24, 42});
}

TEST_CASE("NoGradGuard records nothing; grad mode comes back after the scope") {
  Tensor x = ones({2}, DType::Float64).set_requires_grad(true);
  {
    NoGradGuard guard;
    CHECK_FALSE(GradMode::is_enabled());
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  CHECK(GradMode::is_enabled());
  CHECK((x * 2.0).requires_grad());
  CHECK_FALSE((ones({2}) * 2.0).requires_grad());
}

TEST_CASE("the graph is freed by backward: saved tensors are released, a second pass is an error") {
  Tensor x = ones({1000}, DType::Float64).set_requires_grad(true);
  std::weak_ptr<Storage> saved;
  Tensor loss;
  {
    Tensor e = exp(x);  // exp saves its output for the backward
    saved = e.storage();
    loss = sum(e * e);
  }
  CHECK_FALSE(saved.expired());  // kept alive by the graph
  backward(loss);
  CHECK(saved.expired());  // released with the graph
  CHECK_THROWS_WITH_AS(backward(loss), doctest::Contains("already freed"), Error);
}

TEST_CASE("detach cuts the graph and shares storage") {
  Tensor x = ones({2}, DType::Float64).set_requires_grad(true);
  Tensor y = x * 2.0;
  Tensor d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.storage() == y.storage());
}

TEST_CASE("a long chain does not overflow the stack") {
  Tensor x = ones({1}, DType::Float64).set_requires_grad(true);
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0;
  backward(sum(y));
  CHECK(x.grad().item() == 1.0);
}
