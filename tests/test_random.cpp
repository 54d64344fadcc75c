// Seeded random tensors: reproducible across runs and thread counts, with the right moments.
#include <doctest/doctest.h>

#include <cmath>

#include "helpers.h"
#include "tensor/parallel.h"

using namespace rg;

TEST_CASE("the same seed gives the same numbers; another seed does not") {
  Generator a(42), b(42), c(43);
  CHECK(rand({100}, 0, 1, DType::Float32, Device::cpu(), a).to_vector<float>() ==
        rand({100}, 0, 1, DType::Float32, Device::cpu(), b).to_vector<float>());
  CHECK(randn({100}, 0, 1, DType::Float32, Device::cpu(), a).to_vector<float>() ==
        randn({100}, 0, 1, DType::Float32, Device::cpu(), b).to_vector<float>());
  CHECK(rand({100}, 0, 1, DType::Float32, Device::cpu(), a).to_vector<float>() !=
        rand({100}, 0, 1, DType::Float32, Device::cpu(), c).to_vector<float>());
}

TEST_CASE("consecutive draws differ, and manual_seed restarts the sequence") {
  manual_seed(7);
  const auto first = randn({50}).to_vector<double>();
  const auto second = randn({50}).to_vector<double>();
  CHECK(first != second);
  manual_seed(7);
  CHECK(randn({50}).to_vector<double>() == first);
}

TEST_CASE("random tensors do not depend on the number of threads") {
  const int saved = rg::num_threads();
  std::vector<std::vector<double>> results;
  for (int threads : {1, 2, 3, 8}) {
    rg::set_num_threads(threads);
    Generator gen(5);
    results.push_back(randn({300000}, 0, 1, DType::Float64, Device::cpu(), gen).to_vector<double>());
  }
  rg::set_num_threads(saved);
  for (size_t i = 1; i < results.size(); ++i) CHECK(results[i] == results[0]);
}

TEST_CASE("uniform, normal and Kaiming draws have the expected moments") {
  Generator gen(123);
  auto moments = [](const std::vector<double>& v) {
    double m = 0, s = 0;
    for (double x : v) m += x;
    m /= double(v.size());
    for (double x : v) s += (x - m) * (x - m);
    return std::pair{m, std::sqrt(s / double(v.size()))};
  };
  const auto u = rand({200000}, -1, 3, DType::Float64, Device::cpu(), gen).to_vector<double>();
  auto [um, us] = moments(u);
  CHECK(um == doctest::Approx(1.0).epsilon(0.01));
  CHECK(us == doctest::Approx(4.0 / std::sqrt(12.0)).epsilon(0.01));
  for (double x : u) REQUIRE((x >= -1 && x < 3));

  auto [nm, ns] = moments(randn({200000}, 2.0, 0.5, DType::Float64, Device::cpu(), gen).to_vector<double>());
  CHECK(nm == doctest::Approx(2.0).epsilon(0.01));
  CHECK(ns == doctest::Approx(0.5).epsilon(0.01));

  // A conv weight [64, 32, 3, 3]: fan_in = 288, std = sqrt(2/288).
  auto [km, ks] = moments(kaiming_normal({64, 32, 3, 3}, DType::Float64, Device::cpu(), gen).to_vector<double>());
  CHECK(std::abs(km) < 0.01);
  CHECK(ks == doctest::Approx(std::sqrt(2.0 / 288.0)).epsilon(0.03));
}
