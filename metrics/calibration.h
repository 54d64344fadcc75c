// Whether a probability of 0.8 means 80%: per label, over the images where it is known,
//   reliability  10 equal-mass bins of the probabilities: edges at their 0th, 10th, ..., 100th
//                percentiles (linear interpolation, as numpy's percentile); a probability goes to
//                the bin numbered by how many of the 9 inner edges lie below it, so tied
//                probabilities share a bin and a bin may be empty (scikit-learn's
//                calibration_curve(strategy="quantile")). Each non-empty bin: its count, mean
//                probability and fraction of positives — the reliability diagram's points.
//   ECE          expected calibration error: sum over the bins of count / N x |fraction of
//                positives - mean probability|
//   Brier score  the mean of (probability - label)^2 (scikit-learn's brier_score_loss)
// Tested against scikit-learn on committed cases (tools/make_roc_fixture.py).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace rg::metrics {

struct ReliabilityBin {
  int64_t count = 0;
  double mean_probability = 0, fraction_positive = 0;
};

struct Calibration {
  std::vector<ReliabilityBin> bins;  // the non-empty ones, from low to high probabilities
  double ece = 0, brier = 0;
};

// y: 0/1 labels (NaN: missing, left out); p: probabilities. None when no label is known.
std::optional<Calibration> calibration(const std::vector<float>& y, const std::vector<float>& p, int bins = 10);

}  // namespace rg::metrics
