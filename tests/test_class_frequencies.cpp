// Class frequencies and balancing weights (the notebook's Exercise 2).
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "helpers.h"
#include "autograd/gradcheck.h"
#include "losses/bce.h"
#include "losses/class_frequencies.h"

using namespace rg;

TEST_CASE("compute_class_freqs: the notebook's Exercise 2") {
  const Tensor labels = from_vector({1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1}, {5, 3});
  const ClassFrequencies f = compute_class_freqs(labels);
  test::check_close(f.positive, from_vector({0.8, 0.4, 0.8}, {3}), 1e-6, 0);
  test::check_close(f.negative, from_vector({0.2, 0.6, 0.2}, {3}), 1e-6, 0);
  const ClassWeights w = class_weights(f);
  test::check_close(w.positive, f.negative, 0, 0);
  test::check_close(w.negative, f.positive, 0, 0);
  // Balanced: w_pos * freq_pos == w_neg * freq_neg for every class.
  test::check_close(w.positive * f.positive, w.negative * f.negative, 1e-7, 0);
  CHECK_THROWS_WITH_AS(compute_class_freqs(from_vector({1, 0}, {2})), doctest::Contains("expected labels [N, L]"),
                       Error);
}

TEST_CASE("weighted_loss: the notebook's Exercise 3 (epsilon = 1) gives -0.4956203 for both predictions") {
  const Tensor y = from_vector({1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1}, {4, 3});
  const Tensor w_p = from_vector({0.25, 0.25, 0.5}, {3}), w_n = from_vector({0.75, 0.75, 0.5}, {3});
  const Tensor p1 = full({4, 3}, 0.7), p2 = full({4, 3}, 0.3);
  CHECK(weighted_loss(p1, y, w_p, w_n, 1.0).item() == doctest::Approx(-0.4956203).epsilon(1e-6));
  CHECK(weighted_loss(p2, y, w_p, w_n, 1.0).item() == doctest::Approx(-0.4956203).epsilon(1e-6));
}

TEST_CASE("cross-entropy from logits equals the one from probabilities, and stays finite") {
  Generator gen(1);
  const Tensor z = rand({5, 3}, -4, 4, DType::Float64, Device::cpu(), gen);
  const Tensor y = gt(rand({5, 3}, 0, 1, DType::Float64, Device::cpu(), gen), scalar(0.5, DType::Float64));
  const Tensor w_p = from_vector({0.9, 0.8, 0.6}, {3}, DType::Float64),
               w_n = from_vector({0.1, 0.2, 0.4}, {3}, DType::Float64);
  CHECK(binary_cross_entropy_with_logits(z, y).item() ==
        doctest::Approx(binary_cross_entropy(sigmoid(z), y, 0).item()));
  CHECK(weighted_loss_with_logits(z, y, w_p, w_n).item() ==
        doctest::Approx(weighted_loss(sigmoid(z), y, w_p, w_n, 0).item()));
  const Tensor extreme = from_vector({-1000, 1000}, {1, 2}, DType::Float64),
               labels = from_vector({1, 0}, {1, 2}, DType::Float64);
  CHECK(binary_cross_entropy_with_logits(extreme, labels).item() == doctest::Approx(1000));
}

TEST_CASE("gradcheck: the losses") {
  Generator gen(2);
  auto leaf = [&](const Shape& s, double lo, double hi) {
    return rand(s, lo, hi, DType::Float64, Device::cpu(), gen).set_requires_grad(true);
  };
  const Tensor y = from_vector({1, 0, 1, 0, 0, 1}, {2, 3}, DType::Float64);
  const Tensor w_p = from_vector({0.9, 0.8, 0.6}, {3}, DType::Float64),
               w_n = from_vector({0.1, 0.2, 0.4}, {3}, DType::Float64);
  for (const auto& [name, fn] : std::vector<std::pair<const char*, GradcheckFn>>{
           {"bce", [&](const std::vector<Tensor>& t) { return binary_cross_entropy(t[0], y); }},
           {"weighted", [&](const std::vector<Tensor>& t) { return weighted_loss(t[0], y, w_p, w_n); }}}) {
    const GradcheckResult r = gradcheck(fn, {leaf({2, 3}, 0.1, 0.9)});
    INFO(name << ": " << r.message);
    CHECK(r.ok);
    CHECK(r.kinks == 0);
  }
  for (const auto& [name, fn] : std::vector<std::pair<const char*, GradcheckFn>>{
           {"bce logits", [&](const std::vector<Tensor>& t) { return binary_cross_entropy_with_logits(t[0], y); }},
           {"weighted logits",
            [&](const std::vector<Tensor>& t) { return weighted_loss_with_logits(t[0], y, w_p, w_n); }}}) {
    const GradcheckResult r = gradcheck(fn, {leaf({2, 3}, -3, 3)});
    INFO(name << ": " << r.message);
    CHECK(r.ok);
    CHECK(r.kinks == 0);
  }
}

TEST_CASE("missing labels (NaN) count nowhere: not in the frequencies, not in the loss, zero gradient") {
  const double nan = std::nan("");
  // Class 0 is known for rows 0, 2, 3; class 1 for every row.
  const Tensor y = from_vector({1, 1, nan, 0, 0, 1, 1, 0}, {4, 2}, DType::Float64);
  const ClassFrequencies f = compute_class_freqs(y);
  CHECK(f.positive.to_vector<double>() == std::vector<double>{2.0 / 3, 0.5});
  // Without missing labels the frequencies and the loss are the plain means, to the bit.
  const Tensor full_y = from_vector({1, 1, 1, 0, 0, 1, 1, 0}, {4, 2}, DType::Float64);
  CHECK(compute_class_freqs(full_y).positive.to_vector<double>() == mean(full_y, {0}).to_vector<double>());
  const Tensor w_p = from_vector({0.9, 0.6}, {2}, DType::Float64), w_n = from_vector({0.1, 0.4}, {2}, DType::Float64);
  const Tensor z = from_vector({0.5, -1, 2, 0.25, -0.5, 1.5, 3, -2}, {4, 2}, DType::Float64).set_requires_grad(true);
  const Tensor plain = sum(mean(w_p * full_y * softplus(-z) + w_n * (1.0 - full_y) * softplus(z), {0}));
  CHECK(weighted_loss_with_logits(z, full_y, w_p, w_n).item() == plain.item());

  // With one missing: class 0's mean is over its 3 known rows, and row 1's logit gets no gradient.
  const Tensor loss = weighted_loss_with_logits(z, y, w_p, w_n);
  const std::vector<double> zs = z.to_vector<double>(), ys = y.to_vector<double>();
  const auto term = [&](int i, int c) {
    const double sp_neg = std::log1p(std::exp(-zs[2 * i + c])), sp_pos = std::log1p(std::exp(zs[2 * i + c]));
    const double wp = c == 0 ? 0.9 : 0.6, wn = c == 0 ? 0.1 : 0.4;
    return wp * ys[2 * i + c] * sp_neg + wn * (1 - ys[2 * i + c]) * sp_pos;
  };
  const double want =
      (term(0, 0) + term(2, 0) + term(3, 0)) / 3 + (term(0, 1) + term(1, 1) + term(2, 1) + term(3, 1)) / 4;
  CHECK(loss.item() == doctest::Approx(want).epsilon(1e-14));
  backward(loss);
  const std::vector<double> g = z.grad().to_vector<double>();
  CHECK(g[2] == 0.0);  // row 1, class 0: exactly zero
  for (int i : {0, 1, 3, 4, 5, 6, 7}) CHECK(g[size_t(i)] != 0.0);
  const GradcheckResult r =
      gradcheck([&](const std::vector<Tensor>& t) { return weighted_loss_with_logits(t[0], y, w_p, w_n); },
                {from_vector({0.5, -1, 2, 0.25, -0.5, 1.5, 3, -2}, {4, 2}, DType::Float64).set_requires_grad(true)});
  INFO(r.message);
  CHECK(r.ok);
}
