// Scoring a prediction file against a label file, per label: what `roentgen eval` prints and
// writes as metrics.json.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "data/csv.h"
#include "data/labels.h"
#include "metrics/roc.h"

namespace rg::metrics {

// Per label, over the images where it is known (a missing label, NaN, is left out; a label known
// for no image, or of one class only, has no AUROC: "n/a").
struct LabelMetrics {
  std::string label;
  int64_t positives = 0, negatives = 0;
  std::optional<double> auc, average_precision;
  std::optional<Interval> auc_ci95;
  std::optional<OperatingPoint> youden;
};

struct Evaluation {
  int64_t n = 0;  // scored images
  std::vector<LabelMetrics> per_label;
  std::optional<double> mean_auc;  // over the labels whose AUROC is defined

  std::string to_json() const;
  std::string table() const;  // a printable table
};

// Matches prediction rows to label rows by image name (the preds' "Image" or "Image Index"
// column; one column per label, named "<label>" or "prob_<label>"). Labels without a prediction
// are ignored. A prediction without a label, an image predicted twice, a probability that is not
// a plain decimal number from 0 to 1, or a label column missing from the predictions, is an error
// naming the file, line and column. bootstrap = 0 skips the confidence intervals.
Evaluation evaluate(const data::LabelTable& truth, const data::CsvTable& preds, int bootstrap = 0, uint64_t seed = 0);

// The prediction file that `roentgen predict` and example_chestxray write and evaluate() reads:
// a header Image,<label>..., then one row per image, each probability to 7 significant digits.
// probs: [images][labels].
std::string predictions_csv(const std::vector<std::string>& images, const std::vector<std::string>& labels,
                            const std::vector<std::vector<float>>& probs);

// From in-memory columns: y[k], score[k] for label k.
Evaluation evaluate(const std::vector<std::string>& labels, const std::vector<std::vector<float>>& y,
                    const std::vector<std::vector<float>>& score, int bootstrap = 0, uint64_t seed = 0);

}  // namespace rg::metrics
