// The DenseNet reference data for parity tests, shared by the CPU (models_tests) and GPU
// (cuda_tests) suites: ../shared/reference/densenet121 when present, and the committed tiny
// fixture (tools/make_tiny_fixture.py).
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "helpers.h"
#include "models/densenet.h"
#include "tensor/io.h"
#include "tensor/safetensors.h"

namespace rg::test {

// ../shared/reference/densenet121 beside the checkout, or $ROENTGEN_REFERENCE_DIR (gpu-check.sh
// sets it to the copy it carries).
inline std::string reference_dir() {
  const char* env = std::getenv("ROENTGEN_REFERENCE_DIR");
  const auto dir = env && *env
                       ? std::filesystem::path(env)
                       : std::filesystem::path(ROENTGEN_SOURCE_DIR) / ".." / "shared" / "reference" / "densenet121";
  return std::filesystem::exists(dir / "model.safetensors") ? dir.lexically_normal().string() : "";
}

inline bool skip_without_reference() {
  return skip_without(reference_dir(), "../shared/reference/densenet121 (or $ROENTGEN_REFERENCE_DIR)");
}

// A raw little-endian .bin file as a tensor.
inline Tensor read_bin(const std::string& name, const Shape& shape, DType dtype) {
  const std::string bytes = read_file(reference_dir() + "/" + name);
  Tensor t = Tensor::empty(shape, dtype);
  REQUIRE(bytes.size() == size_t(t.numel()) * dtype_size(dtype));
  std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

// ||a - b|| / ||b||
inline double relative_l2(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector<double>(), y = b.to_vector<double>();
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) num += (x[i] - y[i]) * (x[i] - y[i]), den += y[i] * y[i];
  return std::sqrt(num / den);
}

struct Loaded {
  std::shared_ptr<DenseNet> model;
  Tensor input;
};

inline Loaded load(DType dtype) {
  Loaded l;
  l.model = std::make_shared<DenseNet>(DenseNetConfig::densenet121(14));
  l.model->load_state_dict(read_safetensors(reference_dir() + "/model.safetensors").tensors);
  l.model->to(dtype);
  l.input = read_bin("input.bin", {2, 3, 224, 224}, DType::Float32).to(dtype);
  return l;
}

inline std::string suffix(DType dtype) { return dtype == DType::Float64 ? ".f64.bin" : ".bin"; }

// The committed fixture: a tiny torchvision DenseNet and PyTorch's float64 results on it
// (tools/make_tiny_fixture.py).
inline Tensor fixture(const std::string& name, const Shape& shape) {
  const std::string bytes = read_file(std::string(ROENTGEN_SOURCE_DIR) + "/tests/fixtures/tiny_densenet/" + name);
  Tensor t = Tensor::empty(shape, DType::Float64);
  REQUIRE(bytes.size() == size_t(t.numel()) * 8);
  std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

inline std::shared_ptr<DenseNet> tiny_model() {
  const DenseNetConfig config{
      .name = "tiny", .growth = 4, .blocks = {2, 2}, .init_features = 8, .bn_size = 2, .num_classes = 3};
  auto model = std::make_shared<DenseNet>(config);
  model->to(DType::Float64);
  model->load_state_dict(
      read_safetensors(std::string(ROENTGEN_SOURCE_DIR) + "/tests/fixtures/tiny_densenet/model.safetensors").tensors);
  return model;
}

}  // namespace rg::test
