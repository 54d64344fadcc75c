#include "data/image_checks.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace rg::data {

namespace {

// The mean gray level of the region [x0, x1) x [y0, y1), in fractions of the image.
double region_mean(const GrayImage& g, double x0, double x1, double y0, double y1) {
  const int ax = int(x0 * g.width), bx = std::max(ax + 1, int(x1 * g.width));
  const int ay = int(y0 * g.height), by = std::max(ay + 1, int(y1 * g.height));
  double sum = 0;
  for (int y = ay; y < by; ++y)
    for (int x = ax; x < bx; ++x) sum += g.at(x, y);
  return sum / double((bx - ax) * (by - ay));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

ImageStats image_stats(const GrayImage& g) {
  RG_CHECK(!g.pixels.empty(), "image_stats: an empty image");
  ImageStats s;
  double mean = 0;
  for (float v : g.pixels) mean += v;
  mean /= double(g.pixels.size());
  for (float v : g.pixels) s.std += (v - mean) * (v - mean);
  s.std = std::sqrt(s.std / double(g.pixels.size()));
  std::vector<float> sorted = g.pixels;
  std::sort(sorted.begin(), sorted.end());
  s.range = sorted[size_t(0.99 * double(sorted.size() - 1))] - sorted[size_t(0.01 * double(sorted.size() - 1))];
  const double lungs = (region_mean(g, 0.18, 0.38, 0.25, 0.60) + region_mean(g, 0.62, 0.82, 0.25, 0.60)) / 2;
  s.lung_contrast = (lungs - region_mean(g, 0.45, 0.55, 0.25, 0.60)) / std::max(s.std, 1e-6);
  return s;
}

IntensityProfile IntensityProfile::of(const std::vector<ImageStats>& stats) {
  RG_CHECK(!stats.empty(), "IntensityProfile: no images");
  std::vector<double> contrast, range;
  for (const ImageStats& s : stats) {
    contrast.push_back(s.lung_contrast);
    range.push_back(s.range);
  }
  return {int64_t(stats.size()), median(contrast), median(range)};
}

std::string IntensityProfile::to_json() const {
  return nlohmann::ordered_json{{"images", images}, {"lung_contrast", lung_contrast}, {"range", range}}.dump();
}

IntensityProfile IntensityProfile::from_json(const std::string& text, const std::string& path) {
  IntensityProfile p;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    p = {j.at("images").get<int64_t>(), j.at("lung_contrast").get<double>(), j.at("range").get<double>()};
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": metadata intensity_profile: expected {\"images\", \"lung_contrast\", \"range\"} (" +
                e.what() + ")");
  }
  RG_CHECK(p.images > 0 && std::isfinite(p.lung_contrast) && p.range > 0 && p.range <= 255, path,
           ": metadata intensity_profile: expected images > 0, a finite lung_contrast and a range in (0, 255]");
  return p;
}

std::vector<InputIssue> input_issues(const GrayImage& image, StoredSize stored, const IntensityProfile& p) {
  const ImageStats s = image_stats(image);
  std::vector<InputIssue> issues;
  if (s.lung_contrast * p.lung_contrast < 0 && std::abs(s.lung_contrast) >= std::abs(p.lung_contrast) / 2)
    issues.push_back(InputIssue::kInverted);
  if (s.std < 4) issues.push_back(InputIssue::kFlat);
  if (s.range < p.range / 3) issues.push_back(InputIssue::kLowContrast);
  if (stored.width > 0 && (2 * stored.width < image.width || 2 * stored.height < image.height))
    issues.push_back(InputIssue::kSmall);
  return issues;
}

void InputChecks::add(const std::string& image, const GrayImage& pixels, StoredSize stored) {
  const std::vector<InputIssue> issues = input_issues(pixels, stored, profile_);
  std::lock_guard<std::mutex> lock(mutex_);
  ++images_;
  for (InputIssue issue : issues) {
    const size_t k = size_t(issue);
    if (counts_[k]++ == 0 || image < first_[k]) first_[k] = image;  // the first by name: the same on every run
  }
}

std::vector<std::string> InputChecks::warnings() const {
  static const char* kWhat[] = {
      "look inverted relative to the training images (bright lungs, dark mediastinum: a negative)",
      "are nearly uniform (gray-level std under 4: a blank or failed exposure)",
      "use little of the gray range (1st to 99th percentile under a third of the training images')",
      "are stored at under half the model's input size on a side (enlarged, they hold little detail)"};
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> lines;
  for (size_t k = 0; k < counts_.size(); ++k)
    if (counts_[k] > 0)
      lines.push_back(std::to_string(counts_[k]) + " of " + std::to_string(images_) + " images " + kWhat[k] +
                      " (the first: " + first_[k] + "); their predictions may be meaningless");
  return lines;
}

}  // namespace rg::data
