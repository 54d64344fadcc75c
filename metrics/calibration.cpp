#include "metrics/calibration.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace rg::metrics {

namespace {

// numpy's percentile (linear interpolation) of sorted values, q from 0 to 1.
double percentile(const std::vector<double>& sorted, double q) {
  const double at = q * double(sorted.size() - 1);
  const size_t low = size_t(std::floor(at));
  if (low + 1 >= sorted.size()) return sorted.back();
  return sorted[low] + (at - double(low)) * (sorted[low + 1] - sorted[low]);
}

}  // namespace

std::optional<Calibration> calibration(const std::vector<float>& y, const std::vector<float>& p, int bins) {
  RG_CHECK(y.size() == p.size(), "metrics: ", y.size(), " labels but ", p.size(), " probabilities");
  RG_CHECK(bins >= 1, "metrics: calibration needs at least one bin");
  std::vector<double> known_y, known_p;
  for (size_t i = 0; i < y.size(); ++i)
    if (!std::isnan(y[i])) {
      known_y.push_back(y[i] > 0.5f ? 1.0 : 0.0);
      known_p.push_back(p[i]);
    }
  if (known_y.empty()) return std::nullopt;
  std::vector<double> sorted = known_p;
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> inner;  // the bins-1 edges between bins
  for (int b = 1; b < bins; ++b) inner.push_back(percentile(sorted, double(b) / bins));

  std::vector<ReliabilityBin> all(static_cast<size_t>(bins));
  Calibration c;
  for (size_t i = 0; i < known_p.size(); ++i) {
    const size_t b = size_t(std::lower_bound(inner.begin(), inner.end(), known_p[i]) - inner.begin());  // edges below
    all[b].count += 1;
    all[b].mean_probability += known_p[i];
    all[b].fraction_positive += known_y[i];
    c.brier += (known_p[i] - known_y[i]) * (known_p[i] - known_y[i]);
  }
  const double n = double(known_p.size());
  c.brier /= n;
  for (ReliabilityBin& bin : all) {
    if (bin.count == 0) continue;
    bin.mean_probability /= double(bin.count);
    bin.fraction_positive /= double(bin.count);
    c.ece += double(bin.count) / n * std::abs(bin.fraction_positive - bin.mean_probability);
    c.bins.push_back(bin);
  }
  return c;
}

}  // namespace rg::metrics
