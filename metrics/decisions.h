// From a probability to a decision: the rule that picks a label's threshold on a labeled
// (validation) set, and what deciding "positive when probability >= threshold" gives on a set —
// sensitivity, specificity, PPV and NPV, each with its 95% Wilson score interval.
//
// Rules (`roentgen train --operating-point`, `roentgen calibrate`), over the distinct scores as
// candidate thresholds:
//   youden            the threshold maximizing Youden's J = sensitivity + specificity - 1 (the
//                     highest such threshold on a tie)
//   sensitivity=S     the highest threshold whose sensitivity is at least S (so the best
//                     specificity that keeps it)
//   specificity=S     the lowest threshold whose specificity is at least S (the best sensitivity)
//   ppv=P             the lowest threshold whose PPV is at least P (the best sensitivity); none
//                     when no threshold reaches P
// A label whose known examples are all of one class has no threshold.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "metrics/roc.h"

namespace rg::metrics {

struct OperatingRule {
  enum class Kind { kYouden, kSensitivity, kSpecificity, kPpv };
  Kind kind = Kind::kYouden;
  double target = 0;  // S or P, in (0, 1)

  // "youden", "sensitivity=0.9", "specificity=0.9" or "ppv=0.8"; anything else is an error listing them.
  static OperatingRule parse(const std::string& text);
  std::string name() const;  // as parse() reads it
};

// The threshold `rule` picks on labels y (0/1; NaN: missing, left out) and scores.
std::optional<OperatingPoint> choose_threshold(const std::vector<float>& y, const std::vector<float>& score,
                                               const OperatingRule& rule);

// A proportion k/n with its 95% Wilson score interval; undefined when n is 0.
struct Rate {
  int64_t k = 0, n = 0;
  std::optional<double> value() const;
  std::optional<Interval> ci95() const;
  std::string text() const;  // "0.812 [0.70, 0.89]", or "n/a"
};

// Deciding positive when score >= threshold, over the known labels of y.
struct Decisions {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  Rate sensitivity() const { return {tp, tp + fn}; }
  Rate specificity() const { return {tn, tn + fp}; }
  Rate ppv() const { return {tp, tp + fp}; }
  Rate npv() const { return {tn, tn + fn}; }
};
Decisions decisions_at(const std::vector<float>& y, const std::vector<float>& score, double threshold);

}  // namespace rg::metrics
