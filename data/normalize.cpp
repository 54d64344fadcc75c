#include "data/normalize.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

#include "tensor/error.h"
#include "tensor/random.h"

namespace rg::data {

namespace {

// Mean and population standard deviation, accumulated in double.
std::pair<double, double> moments(const std::vector<float>& values) {
  double sum = 0;
  for (float v : values) sum += v;
  const double mean = sum / double(values.size());
  double sq = 0;
  for (float v : values) sq += (v - mean) * (v - mean);
  return {mean, std::sqrt(sq / double(values.size()))};
}

const char* kind_name(Normalization::Kind kind) {
  switch (kind) {
    case Normalization::Kind::Sample: return "sample";
    case Normalization::Kind::Dataset: return "dataset";
    case Normalization::Kind::ImageNet: return "imagenet";
  }
  return "?";
}

}  // namespace

Normalization Normalization::dataset(double mean, double std) {
  RG_CHECK(std::isfinite(mean) && std::isfinite(std) && std > 0, "Normalization::dataset: invalid mean ", mean,
           " / std ", std, " (the standard deviation must be positive)");
  Normalization n;
  n.kind = Kind::Dataset;
  n.mean = mean;
  n.std = std;
  return n;
}

void Normalization::apply(const GrayImage& image, float* out) const {
  const size_t plane = image.pixels.size();
  if (kind == Kind::ImageNet) {
    for (size_t c = 0; c < 3; ++c) {
      const float scale = float(1.0 / (255.0 * kImageNetStd[c])), shift = float(kImageNetMean[c] / kImageNetStd[c]);
      for (size_t i = 0; i < plane; ++i) out[c * plane + i] = image.pixels[i] * scale - shift;
    }
    return;
  }
  double m = mean, s = std;
  if (kind == Kind::Sample) std::tie(m, s) = moments(image.pixels);
  const float scale = float(1.0 / (s + 1e-6)), shift = float(m);
  for (size_t i = 0; i < plane; ++i) out[i] = (image.pixels[i] - shift) * scale;
  for (size_t c = 1; c < 3; ++c) std::copy(out, out + plane, out + c * plane);
}

std::string Normalization::describe() const {
  std::ostringstream out;
  out << kind_name(kind);
  if (kind == Kind::Dataset) {
    out << " mean=" << mean << " std=" << std;
    if (sample_size) out << " (measured on " << sample_size << " images, seed " << sample_seed << ")";
  }
  return out.str();
}

std::string Normalization::spec() const {
  if (kind != Kind::Dataset) return kind_name(kind);
  std::ostringstream out;
  out.precision(9);
  out << "dataset:" << mean << "," << std;
  return out.str();
}

Normalization Normalization::from_spec(const std::string& spec) {
  if (spec == "sample") return sample();
  if (spec == "imagenet") return imagenet();
  const auto comma = spec.find(',');
  RG_CHECK(spec.rfind("dataset:", 0) == 0 && comma != std::string::npos, "normalization '", spec,
           "': expected sample, imagenet or dataset:<mean>,<std>");
  try {
    size_t used_mean = 0, used_std = 0;
    const std::string m = spec.substr(8, comma - 8), s = spec.substr(comma + 1);
    const double mean = std::stod(m, &used_mean), std_dev = std::stod(s, &used_std);
    RG_CHECK(used_mean == m.size() && used_std == s.size(), "trailing characters");
    return dataset(mean, std_dev);
  } catch (const std::exception&) {
    throw Error("normalization '" + spec + "': expected dataset:<mean>,<std> with two numbers, the std positive");
  }
}

std::string Normalization::to_json() const {
  nlohmann::json j{{"kind", kind_name(kind)}};
  if (kind == Kind::Dataset) {
    j["mean"] = mean;
    j["std"] = std;
    j["sample_size"] = sample_size;
    j["sample_seed"] = sample_seed;
  }
  return j.dump();
}

Normalization Normalization::from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw Error("Normalization::from_json: not valid JSON: " + std::string(e.what()));
  }
  RG_CHECK(j.is_object() && j.contains("kind") && j["kind"].is_string(),
           "Normalization::from_json: expected an object with a \"kind\", got ", text);
  const std::string kind = j["kind"];
  if (kind == "sample") return sample();
  if (kind == "imagenet") return imagenet();
  RG_CHECK(kind == "dataset", "Normalization::from_json: unknown kind '", kind,
           "' (expected sample, dataset or imagenet)");
  RG_CHECK(j.contains("mean") && j["mean"].is_number() && j.contains("std") && j["std"].is_number(),
           "Normalization::from_json: a dataset normalization needs numeric \"mean\" and \"std\", got ", text);
  Normalization n = dataset(j["mean"].get<double>(), j["std"].get<double>());
  n.sample_size = j.value("sample_size", int64_t(0));
  n.sample_seed = j.value("sample_seed", uint64_t(0));
  return n;
}

Tensor image_tensor(const GrayImage& image, const Normalization& normalization) {
  Tensor t = Tensor::empty({1, 3, image.height, image.width});
  normalization.apply(image, t.data<float>());
  return t;
}

Normalization measure_dataset_normalization(const LabelTable& train, const ImageSource& images, int width, int height,
                                            int64_t count, uint64_t seed) {
  RG_CHECK(!train.images.empty(), "measure_dataset_normalization: ", train.source, " has no images");
  count = std::min<int64_t>(count, int64_t(train.size()));
  // A seeded partial Fisher-Yates shuffle picks `count` distinct images.
  std::vector<size_t> order(train.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Generator gen(seed);
  const uint64_t first = gen.advance(uint64_t(count));
  for (int64_t i = 0; i < count; ++i) std::swap(order[i], order[i + gen.bits(first + i) % (order.size() - i)]);

  double sum = 0, sum_sq = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < count; ++i) {
    const GrayImage image = images.load(train.images[order[i]].image, width, height);
    for (float v : image.pixels) {
      sum += v;
      sum_sq += double(v) * v;
    }
    n += int64_t(image.pixels.size());
  }
  const double mean = sum / double(n);
  Normalization result = Normalization::dataset(mean, std::sqrt(std::max(0.0, sum_sq / double(n) - mean * mean)));
  result.sample_size = count;
  result.sample_seed = seed;
  return result;
}

}  // namespace rg::data
