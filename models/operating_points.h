// A model's operating points: per label, the probability at and above which its finding counts as
// present, chosen by a rule (metrics/decisions.h) on a labeled set, with what the rule found
// there. `roentgen train` chooses them on the validation set at the end of training,
// `roentgen calibrate` on any set; the model file keeps them in its metadata, as JSON:
//   operating_points = {"rule": "youden", "set": "valid.csv", "labels": {"Atelectasis":
//     {"threshold": 0.21, "positives": 12, "negatives": 88, "sensitivity": 0.83,
//      "specificity": 0.71}, ...}}
// A label without a threshold (its set had one class only, or the rule was never met) is not
// in "labels", and no decision is made for it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rg {

struct OperatingPoints {
  struct Point {
    double threshold = 0.5;
    int64_t positives = 0, negatives = 0;
    double sensitivity = 0, specificity = 0;  // on the set it was chosen on
  };
  std::string rule;  // empty: the model has none
  std::string set;   // the label file it was chosen on
  std::map<std::string, Point> labels;

  bool empty() const { return rule.empty(); }
  // The threshold of each of `outputs` (a model's labels), none where there is none; or by label.
  std::vector<std::optional<double>> thresholds(const std::vector<std::string>& outputs) const;
  std::map<std::string, double> thresholds() const;
  std::string to_json() const;
  // Reads and checks the JSON: every threshold a number from 0 to 1; errors name `path`.
  static OperatingPoints from_json(const std::string& text, const std::string& path);
  // "youden on valid.csv: Atelectasis >= 0.21 (sensitivity 0.83, specificity 0.71, 12+/88-), ...",
  // one label per line, for inspect and calibrate.
  std::string describe() const;
};

}  // namespace rg
