#include "metrics/decisions.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "tensor/error.h"

namespace rg::metrics {

OperatingRule OperatingRule::parse(const std::string& text) {
  if (text == "youden") return {};
  const size_t equals = text.find('=');
  const std::string kind = text.substr(0, equals);
  OperatingRule rule;
  rule.kind = kind == "sensitivity"   ? Kind::kSensitivity
              : kind == "specificity" ? Kind::kSpecificity
              : kind == "ppv"         ? Kind::kPpv
                                      : Kind::kYouden;
  double target = std::nan("");
  if (equals != std::string::npos && rule.kind != Kind::kYouden) {
    size_t used = 0;
    try {
      target = std::stod(text.substr(equals + 1), &used);
    } catch (const std::exception&) {}
    if (used != text.size() - equals - 1) target = std::nan("");
  }
  RG_CHECK(target > 0 && target < 1, "unknown operating point '", text,
           "' (expected youden, sensitivity=S, specificity=S or ppv=P, with S and P between 0 and 1)");
  rule.target = target;
  return rule;
}

std::string OperatingRule::name() const {
  if (kind == Kind::kYouden) return "youden";
  char number[32];
  std::snprintf(number, sizeof(number), "%g", target);
  const char* what = kind == Kind::kSensitivity ? "sensitivity" : kind == Kind::kSpecificity ? "specificity" : "ppv";
  return std::string(what) + "=" + number;
}

std::optional<OperatingPoint> choose_threshold(const std::vector<float>& y, const std::vector<float>& score,
                                               const OperatingRule& rule) {
  RG_CHECK(y.size() == score.size(), "metrics: ", y.size(), " labels but ", score.size(), " scores");
  std::vector<size_t> known;
  double positives = 0, negatives = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (std::isnan(y[i])) continue;
    RG_CHECK(!std::isnan(score[i]), "metrics: score ", i, " is NaN");
    known.push_back(i);
    (y[i] > 0.5f ? positives : negatives) += 1;
  }
  if (positives == 0 || negatives == 0) return std::nullopt;
  std::stable_sort(known.begin(), known.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  // Each distinct score, from high to low, as the threshold: everything at or above it positive.
  std::optional<OperatingPoint> chosen;
  double tp = 0, fp = 0, best_j = -2;
  for (size_t k = 0; k < known.size(); ++k) {
    (y[known[k]] > 0.5f ? tp : fp) += 1;
    if (k + 1 < known.size() && score[known[k + 1]] == score[known[k]]) continue;  // ties decide together
    const OperatingPoint here{score[known[k]], tp / positives, 1 - fp / negatives};
    switch (rule.kind) {
      case OperatingRule::Kind::kYouden:
        if (here.sensitivity + here.specificity - 1 > best_j)
          best_j = here.sensitivity + here.specificity - 1, chosen = here;
        break;
      case OperatingRule::Kind::kSensitivity:
        if (!chosen && here.sensitivity >= rule.target) chosen = here;
        break;
      case OperatingRule::Kind::kSpecificity:
        if (here.specificity >= rule.target) chosen = here;
        break;
      case OperatingRule::Kind::kPpv:
        if (tp / (tp + fp) >= rule.target) chosen = here;
        break;
    }
  }
  return chosen;
}

std::optional<double> Rate::value() const {
  if (n == 0) return std::nullopt;
  return double(k) / double(n);
}

std::optional<Interval> Rate::ci95() const {
  if (n == 0) return std::nullopt;
  const double z = 1.959963984540054, p = double(k) / double(n), nn = double(n);
  const double centre = (p + z * z / (2 * nn)) / (1 + z * z / nn);
  const double half = z / (1 + z * z / nn) * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn));
  return Interval{std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

std::string Rate::text() const {
  if (!value()) return "n/a";
  char text[48];
  std::snprintf(text, sizeof(text), "%.3f [%.2f, %.2f]", *value(), ci95()->low, ci95()->high);
  return text;
}

Decisions decisions_at(const std::vector<float>& y, const std::vector<float>& score, double threshold) {
  RG_CHECK(y.size() == score.size(), "metrics: ", y.size(), " labels but ", score.size(), " scores");
  Decisions d;
  for (size_t i = 0; i < y.size(); ++i) {
    if (std::isnan(y[i])) continue;
    const bool positive = double(score[i]) >= threshold, truth = y[i] > 0.5f;
    (truth ? (positive ? d.tp : d.fn) : (positive ? d.fp : d.tn)) += 1;
  }
  return d;
}

}  // namespace rg::metrics
