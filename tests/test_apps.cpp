// The commands' building blocks that run without their command line.
#include <doctest/doctest.h>

#include "apps/bench.h"

using namespace rg;

TEST_CASE("bench's inputs are all on the device asked for, with the shapes a training step needs") {
  Generator gen(0);
  const app::BenchInputs in = app::bench_inputs(3, 32, Device::cpu(), gen);
  for (const Tensor* t : {&in.images, &in.labels, &in.w_pos, &in.w_neg}) CHECK(t->device() == Device::cpu());
  CHECK(in.images.shape() == Shape{3, 3, 32, 32});
  CHECK(in.labels.shape() == Shape{3, 14});
  CHECK(in.w_pos.shape() == Shape{14});
  for (double v : in.labels.to_vector<double>()) CHECK((v == 0 || v == 1));
}
