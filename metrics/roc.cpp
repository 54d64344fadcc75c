#include "metrics/roc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

namespace rg::metrics {

namespace {

// Distinct scores from high to low, with the positives and negatives at each.
struct Steps {
  std::vector<double> score;
  std::vector<double> pos, neg;  // counts at that score
  double total_pos = 0, total_neg = 0;
};

std::vector<size_t> order_by_score(const std::vector<float>& score) {
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  return order;
}

Steps steps(const std::vector<float>& y, const std::vector<float>& score, const std::vector<size_t>& order) {
  RG_CHECK(y.size() == score.size(), "metrics: ", y.size(), " labels but ", score.size(), " scores");
  Steps s;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    RG_CHECK(!std::isnan(score[i]), "metrics: score ", i, " is NaN");
    if (s.score.empty() || score[i] != s.score.back()) {
      s.score.push_back(score[i]);
      s.pos.push_back(0);
      s.neg.push_back(0);
    }
    (y[i] > 0.5f ? s.pos.back() : s.neg.back()) += 1;
    (y[i] > 0.5f ? s.total_pos : s.total_neg) += 1;
  }
  return s;
}

// Area under the step-wise ROC curve: trapezoids between consecutive distinct thresholds.
std::optional<double> area(const Steps& s) {
  if (s.total_pos == 0 || s.total_neg == 0) return std::nullopt;
  double tp = 0, sum = 0;
  for (size_t k = 0; k < s.score.size(); ++k) {
    sum += s.neg[k] * (tp + s.pos[k] / 2);  // each new negative is outranked by tp positives, tied with half of these
    tp += s.pos[k];
  }
  return sum / (s.total_pos * s.total_neg);
}

}  // namespace

std::optional<RocCurve> roc_curve(const std::vector<float>& y, const std::vector<float>& score) {
  const Steps s = steps(y, score, order_by_score(score));
  if (s.total_pos == 0 || s.total_neg == 0) return std::nullopt;
  // One point per distinct score, from the highest down.
  std::vector<double> fps, tps, th;
  double tp = 0, fp = 0;
  for (size_t k = 0; k < s.score.size(); ++k) {
    tp += s.pos[k];
    fp += s.neg[k];
    tps.push_back(tp);
    fps.push_back(fp);
    th.push_back(s.score[k]);
  }
  // drop_intermediate, as scikit-learn does it: when there are more than two points, keep the
  // first, the last and those where the curve changes direction (a nonzero second difference);
  // then prepend (0, 0) at threshold +inf.
  RocCurve curve{{0}, {0}, {std::numeric_limits<double>::infinity()}};
  for (size_t k = 0; k < fps.size(); ++k) {
    const bool keep = fps.size() <= 2 || k == 0 || k + 1 == fps.size() || (fps[k - 1] - 2 * fps[k] + fps[k + 1]) != 0 ||
                      (tps[k - 1] - 2 * tps[k] + tps[k + 1]) != 0;
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

// Resampling reweights the examples but never reorders them: the scores are sorted once, and each
// resample draws n positions in that order (uniform, with replacement: the same as drawing
// examples), counts them, and walks the order once, folding tied scores together as area() does.
// The resamples are independent (resample r uses counters r*n .. r*n + n - 1 of the generator), so
// they run in parallel and give the same intervals on any number of threads.
std::optional<Interval> auroc_ci95(const std::vector<float>& y, const std::vector<float>& score, int resamples,
                                   uint64_t seed) {
  const std::vector<size_t> order = order_by_score(score);
  if (!area(steps(y, score, order))) return std::nullopt;
  const size_t n = y.size();
  RG_CHECK(n < (size_t(1) << 32), "auroc_ci95: at most 2^32 examples, got ", n);
  // new_group[k]: order[k] starts a new run of tied scores.
  std::vector<char> new_group(n), positive(n);
  for (size_t k = 0; k < n; ++k) {
    new_group[k] = k == 0 || score[order[k]] != score[order[k - 1]];
    positive[k] = y[order[k]] > 0.5f;
  }
  const Generator gen(seed);
  std::vector<double> aucs(size_t(resamples), std::nan(""));
  parallel_for(resamples, 1, [&](int64_t r0, int64_t r1) {
    std::vector<uint32_t> count(n);  // how often each sorted position was drawn in this resample
    for (int64_t r = r0; r < r1; ++r) {
      std::fill(count.begin(), count.end(), 0);
      const uint64_t first = uint64_t(r) * n;
      // A uniform position in [0, n) from the top 32 random bits: (bits * n) / 2^32 (no division).
      for (size_t i = 0; i < n; ++i) ++count[((gen.bits(first + i) >> 32) * n) >> 32];
      double tp = 0, fp = 0, sum = 0, group_pos = 0, group_neg = 0;
      for (size_t k = 0; k < n; ++k) {
        if (new_group[k]) {  // close the previous run of ties: its negatives are outranked by tp
          sum += group_neg * (tp + group_pos / 2);
          tp += group_pos;
          fp += group_neg;
          group_pos = group_neg = 0;
        }
        (positive[k] ? group_pos : group_neg) += count[k];
      }
      sum += group_neg * (tp + group_pos / 2);
      tp += group_pos;
      fp += group_neg;
      if (tp > 0 && fp > 0) aucs[size_t(r)] = sum / (tp * fp);
    }
  });
  aucs.erase(std::remove_if(aucs.begin(), aucs.end(), [](double a) { return std::isnan(a); }), aucs.end());
  if (aucs.empty()) return std::nullopt;
  std::sort(aucs.begin(), aucs.end());
  auto percentile = [&](double q) {  // linear interpolation, as numpy.percentile
    const double at = q * double(aucs.size() - 1);
    const size_t lo = size_t(std::floor(at)), hi = std::min(lo + 1, aucs.size() - 1);
    return aucs[lo] + (aucs[hi] - aucs[lo]) * (at - double(lo));
  };
  return Interval{percentile(0.025), percentile(0.975)};
}

}  // namespace rg::metrics
