// Grad-CAM: the map from activations and gradients by hand, the gradients through a DenseNet by
// hand, the .npy file and the overlay.
#include <doctest/doctest.h>

#include <cstring>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "data_helpers.h"
#include "densenet_reference.h"
#include "explain/gradcam.h"
#include "helpers.h"
#include "tensor/io.h"

using namespace rg;

TEST_CASE("gradcam_map: channel weights are mean gradients; ReLU; scaled to a maximum of 1") {
  const Tensor a = from_vector({1, 2, 3, 4, 4, 3, 2, 1}, {2, 2, 2});
  const Tensor g = from_vector({1, 1, 1, 1, -0.5, -0.5, -0.5, -0.5}, {2, 2, 2});
  // cam = A0 - 0.5 A1 = [[-1, 0.5], [2, 3.5]] -> ReLU -> / 3.5
  const data::GrayImage m = explain::gradcam_map(a, g, 2, 2);
  CHECK(m.pixels[0] == 0.0f);
  CHECK(m.pixels[1] == doctest::Approx(0.5 / 3.5));
  CHECK(m.pixels[2] == doctest::Approx(2 / 3.5));
  CHECK(m.pixels[3] == doctest::Approx(1.0));
  // Enlarged bilinearly to the image size; an all-negative map stays all zero.
  CHECK(explain::gradcam_map(a, g, 8, 6).width == 6);
  const data::GrayImage zero = explain::gradcam_map(a, full({2, 2, 2}, -1.0), 4, 4);  // every weight negative
  for (float v : zero.pixels) CHECK(v == 0.0f);
}

TEST_CASE("gradcam on a DenseNet: the gradient at norm5 is p (1 - p) W_c [A > 0] / (h w), as by hand") {
  Generator gen(5);
  DenseNet model(
      DenseNetConfig{.name = "tiny", .growth = 4, .blocks = {2, 2}, .init_features = 8, .bn_size = 2, .num_classes = 3},
      gen);
  model.eval();
  const Tensor image = randn({1, 3, 64, 64}, 0, 1, DType::Float32, Device::cpu(), gen);
  const int64_t k = 1;
  const explain::GradCam result = explain::gradcam(model, image, k);

  Taps taps{{"features.norm5", Tensor()}};
  Tensor p;
  {
    NoGradGuard no_grad;
    p = model.forward(image, &taps);
  }
  const Tensor a = taps["features.norm5"];  // [1, 16, 2, 2]
  const double prob = p.to_vector<double>()[k];
  CHECK(result.probability == doctest::Approx(prob));
  const auto av = a.to_vector<double>(), w = model.classifier->weight.to_vector<double>();
  const int64_t channels = a.size(1), hw = a.size(2) * a.size(3);
  std::vector<double> g(av.size());
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < hw; ++i)
      g[c * hw + i] = av[c * hw + i] > 0 ? prob * (1 - prob) * w[k * channels + c] / double(hw) : 0.0;
  const data::GrayImage expected = explain::gradcam_map(a, from_vector(g, a.shape()), 64, 64);
  REQUIRE(result.heat.pixels.size() == expected.pixels.size());
  for (size_t i = 0; i < expected.pixels.size(); ++i)
    REQUIRE(result.heat.pixels[i] == doctest::Approx(expected.pixels[i]).epsilon(1e-4));
  for (const auto& [name, t] : model.named_parameters()) CHECK_FALSE(t.grad().defined());
  CHECK_THROWS_WITH_AS(explain::gradcam(model, image, k, "features.norm9"),
                       doctest::Contains("unknown layer 'features.norm9'"), Error);
  CHECK_THROWS_WITH_AS(explain::gradcam(model, image, 3), doctest::Contains("class 3 is out of range"), Error);
  // Another layer works too.
  CHECK(explain::gradcam(model, image, k, "features.denseblock2").heat.width == 64);
}

TEST_CASE("gradcam equals PyTorch's notebook-order map (resize, then ReLU, then scale) on the tiny DenseNet") {
  // tests/fixtures/tiny_densenet/gradcam_class<k>.f64.bin: tools/make_gradcam_fixture.py.
  auto model = test::tiny_model();
  const Tensor image = slice(test::fixture("input.f64.bin", {2, 3, 32, 32}), 0, 0, 1);
  for (int64_t k = 0; k < 3; ++k) {
    INFO("class ", k);
    const auto expected = test::fixture("gradcam_class" + std::to_string(k) + ".f64.bin", {32, 32}).to_vector<double>();
    const explain::GradCam cam = explain::gradcam(*model, image, k);
    REQUIRE(cam.heat.pixels.size() == expected.size());
    double worst = 0;
    for (size_t i = 0; i < expected.size(); ++i)
      worst = std::max(worst, std::abs(double(cam.heat.pixels[i]) - expected[i]));
    CHECK(worst < 1e-5);
  }
}

TEST_CASE("the heat map is written as a float32 .npy file and as an overlay PNG") {
  test::TempDir dir;
  data::GrayImage heat(3, 2);
  heat.pixels = {0, 0.25f, 0.5f, 0.75f, 1, 0.125f};
  explain::write_npy(dir.file("heat.npy"), heat);
  const std::string bytes = read_file(dir.file("heat.npy"));
  CHECK(bytes.compare(0, 6, "\x93NUMPY") == 0);
  const size_t header_len = uint8_t(bytes[8]) | (uint8_t(bytes[9]) << 8);
  CHECK((10 + header_len) % 64 == 0);
  CHECK(bytes.find("'shape': (2, 3)") != std::string::npos);
  REQUIRE(bytes.size() == 10 + header_len + 6 * 4);
  float last = 0;
  std::memcpy(&last, bytes.data() + bytes.size() - 4, 4);
  CHECK(last == 0.125f);

  data::GrayImage gray(3, 2, 100.0f);
  const auto rgb = explain::overlay(gray, heat, 0.5);
  CHECK(rgb[0] == 50);  // heat 0: jet is dark blue (0, 0, 0.5)
  CHECK(rgb[2] == 50 + 64);
  CHECK(rgb[12] == 50 + 64);  // heat 1: dark red (0.5, 0, 0)
  CHECK(rgb[14] == 50);
  CHECK(explain::overlay(gray, heat, 0.0)[5] == 100);
  explain::write_overlay_png(dir.file("overlay.png"), gray, heat, 0.5);
  CHECK(data::decode_image(dir.file("overlay.png")).width == 3);
}
