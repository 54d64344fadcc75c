// Class frequencies and balancing weights (the notebook's Exercise 2).
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "helpers.h"
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
  CHECK_THROWS_WITH_AS(compute_class_freqs(from_vector({1, 0}, {2})), doctest::Contains("expected labels [N, L]"), Error);
}
