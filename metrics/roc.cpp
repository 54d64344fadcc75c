#include "metrics/roc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tensor/error.h"
#include "tensor/random.h"

namespace rg::metrics {

namespace {

// Distinct scores from high to low, with the positives and negatives at each.
struct Steps {
  std::vector<double> score;
  std::vector<double> pos, neg;  // counts (or bootstrap weights) at that score
  double total_pos = 0, total_neg = 0;
};

std::vector<size_t> order_by_score(const std::vector<float>& score) {
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  return order;
}

// weights: how many times each example counts (all 1 without bootstrap).
Steps steps(const std::vector<float>& y, const std::vector<float>& score, const std::vector<size_t>& order,
            const std::vector<double>* weights = nullptr) {
  RG_CHECK(y.size() == score.size(), "metrics: ", y.size(), " labels but ", score.size(), " scores");
  Steps s;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    RG_CHECK(!std::isnan(score[i]), "metrics: score ", i, " is NaN");
    const double w = weights ? (*weights)[i] : 1.0;
    if (w == 0) continue;
    if (s.score.empty() || score[i] != s.score.back()) {
      s.score.push_back(score[i]);
      s.pos.push_back(0);
      s.neg.push_back(0);
    }
    (y[i] > 0.5f ? s.pos.back() : s.neg.back()) += w;
    (y[i] > 0.5f ? s.total_pos : s.total_neg) += w;
  }
  return s;
}

// Area under the step-wise ROC curve: trapezoids between consecutive distinct thresholds.
std::optional<double> area(const Steps& s) {
  if (s.total_pos == 0 || s.total_neg == 0) return std::nullopt;
  double tp = 0, fp = 0, sum = 0;
  for (size_t k = 0; k < s.score.size(); ++k) {
    sum += s.neg[k] * (tp + s.pos[k] / 2);  // each new negative is outranked by tp positives, tied with half of these
    tp += s.pos[k];
    fp += s.neg[k];
  }
  return sum / (s.total_pos * s.total_neg);
}

}  // namespace

std::optional<RocCurve> roc_curve(const std::vector<float>& y, const std::vector<float>& score) {
  const Steps s = steps(y, score, order_by_score(score));
  if (s.total_pos == 0 || s.total_neg == 0) return std::nullopt;
  std::vector<double> fps{0}, tps{0}, th{std::numeric_limits<double>::infinity()};
  double tp = 0, fp = 0;
  for (size_t k = 0; k < s.score.size(); ++k) {
    tp += s.pos[k];
    fp += s.neg[k];
    tps.push_back(tp);
    fps.push_back(fp);
    th.push_back(s.score[k]);
  }
  // drop_intermediate: keep a point only where the curve changes direction (scikit-learn keeps
  // the first and last points and those with a nonzero second difference).
  RocCurve curve;
  for (size_t k = 0; k < fps.size(); ++k) {
    const bool keep = k == 0 || k + 1 == fps.size() ||
                      (fps[k - 1] - 2 * fps[k] + fps[k + 1]) != 0 || (tps[k - 1] - 2 * tps[k] + tps[k + 1]) != 0;
    if (!keep) continue;
    curve.fpr.push_back(fps[k] / s.total_neg);
    curve.tpr.push_back(tps[k] / s.total_pos);
    curve.thresholds.push_back(th[k]);
  }
  return curve;
}

std::optional<double> auroc(const std::vector<float>& y, const std::vector<float>& score) {
  return area(steps(y, score, order_by_score(score)));
}

std::optional<double> average_precision(const std::vector<float>& y, const std::vector<float>& score) {
  const Steps s = steps(y, score, order_by_score(score));
  if (s.total_pos == 0) return std::nullopt;
  double tp = 0, fp = 0, ap = 0, last_recall = 0;
  for (size_t k = 0; k < s.score.size(); ++k) {
    tp += s.pos[k];
    fp += s.neg[k];
    const double recall = tp / s.total_pos, precision = tp / (tp + fp);
    ap += (recall - last_recall) * precision;
    last_recall = recall;
  }
  return ap;
}

std::optional<Interval> auroc_ci95(const std::vector<float>& y, const std::vector<float>& score, int resamples,
                                   uint64_t seed) {
  const std::vector<size_t> order = order_by_score(score);  // sorted once; resamples only reweight
  if (!area(steps(y, score, order))) return std::nullopt;
  const size_t n = y.size();
  Generator gen(seed);
  std::vector<double> aucs, weights(n);
  for (int r = 0; r < resamples; ++r) {
    std::fill(weights.begin(), weights.end(), 0.0);
    const uint64_t first = gen.advance(n);
    for (size_t i = 0; i < n; ++i) weights[gen.bits(first + i) % n] += 1;
    if (auto a = area(steps(y, score, order, &weights))) aucs.push_back(*a);
  }
  if (aucs.empty()) return std::nullopt;
  std::sort(aucs.begin(), aucs.end());
  auto percentile = [&](double q) {  // linear interpolation, as numpy.percentile
    const double at = q * double(aucs.size() - 1);
    const size_t lo = size_t(std::floor(at)), hi = std::min(lo + 1, aucs.size() - 1);
    return aucs[lo] + (aucs[hi] - aucs[lo]) * (at - double(lo));
  };
  return Interval{percentile(0.025), percentile(0.975)};
}

std::optional<OperatingPoint> at_threshold(const std::vector<float>& y, const std::vector<float>& score, double threshold) {
  RG_CHECK(y.size() == score.size(), "metrics: ", y.size(), " labels but ", score.size(), " scores");
  double tp = 0, fn = 0, tn = 0, fp = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const bool positive = score[i] >= threshold;
    if (y[i] > 0.5f) (positive ? tp : fn) += 1;
    else (positive ? fp : tn) += 1;
  }
  if (tp + fn == 0 || tn + fp == 0) return std::nullopt;
  return OperatingPoint{threshold, tp / (tp + fn), tn / (tn + fp)};
}

std::optional<OperatingPoint> youden(const std::vector<float>& y, const std::vector<float>& score) {
  const Steps s = steps(y, score, order_by_score(score));
  if (s.total_pos == 0 || s.total_neg == 0) return std::nullopt;
  double tp = 0, fp = 0, best_j = -1;
  OperatingPoint best{};
  for (size_t k = 0; k < s.score.size(); ++k) {
    tp += s.pos[k];
    fp += s.neg[k];
    const double sens = tp / s.total_pos, spec = 1 - fp / s.total_neg;
    if (sens + spec - 1 > best_j) {
      best_j = sens + spec - 1;
      best = {s.score[k], sens, spec};
    }
  }
  return best;
}

}  // namespace rg::metrics
