// ROC curves, AUROC, average precision and thresholds for one binary label.
//
// Scores are sorted once; tied scores form one step of the curve (so ties count half, as in the
// Mann-Whitney statistic and scikit-learn). A label with no positives or no negatives has no ROC
// curve: its AUROC is "undefined" (std::nullopt), reported as such, never a fake 0.5.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace rg::metrics {

struct RocCurve {
  // scikit-learn's roc_curve(y, score) with drop_intermediate=True: collinear points between the
  // first and last distinct scores are dropped, then (0, 0) at threshold +inf is prepended.
  std::vector<double> fpr, tpr, thresholds;
};

// y: 0/1 labels; score: higher means more likely positive.
std::optional<RocCurve> roc_curve(const std::vector<float>& y, const std::vector<float>& score);
std::optional<double> auroc(const std::vector<float>& y, const std::vector<float>& score);
// scikit-learn's average_precision_score: sum over thresholds of (R_n - R_{n-1}) P_n.
std::optional<double> average_precision(const std::vector<float>& y, const std::vector<float>& score);

struct Interval {
  double low, high;
};
// Percentile bootstrap (2.5%, 97.5%) of the AUROC over `resamples` seeded resamples of the
// examples; resamples with only one class are skipped. Undefined when the AUROC is.
std::optional<Interval> auroc_ci95(const std::vector<float>& y, const std::vector<float>& score, int resamples,
                                   uint64_t seed);

// A threshold and what deciding positive at score >= it gives (metrics/decisions.h picks it by a
// rule, and counts the decisions at any threshold).
struct OperatingPoint {
  double threshold, sensitivity, specificity;
};

}  // namespace rg::metrics
