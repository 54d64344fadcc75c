// Scoring a prediction file against a label file, per label: what `roentgen eval` prints and
// writes as metrics.json — AUROC, average precision, Youden's point, calibration, and the
// decisions at a model's operating points.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/csv.h"
#include "data/labels.h"
#include "metrics/calibration.h"
#include "metrics/decisions.h"
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
  std::optional<Calibration> calibration;  // reliability bins, ECE, Brier score (metrics/calibration.h)
  std::optional<double> threshold;         // the model's operating point for the label, when given
  std::optional<Decisions> decisions;      // deciding by it over these images
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
// naming the file, line and column. bootstrap = 0 skips the confidence intervals. `thresholds`
// (a model's operating points, by label) add the decisions at each.
Evaluation evaluate(const data::LabelTable& truth, const data::CsvTable& preds, int bootstrap = 0, uint64_t seed = 0,
                    const std::map<std::string, double>& thresholds = {});

// The prediction file that `roentgen predict` and example_chestxray write and evaluate() reads:
// a header Image,<label>..., then one row per image, each probability to 7 significant digits.
// probs: [images][labels]. With `thresholds` (one per label; none: no decision for that label),
// decision_<label> columns follow: 1 when the probability is at or above the threshold, 0 below,
// empty without one; `columns` keeps the probabilities, the decisions or both.
enum class PredictionColumns { kProbabilities, kDecisions, kBoth };
std::string predictions_csv(const std::vector<std::string>& images, const std::vector<std::string>& labels,
                            const std::vector<std::vector<float>>& probs,
                            const std::vector<std::optional<double>>& thresholds = {},
                            PredictionColumns columns = PredictionColumns::kProbabilities);

// From in-memory columns: y[k], score[k] for label k.
Evaluation evaluate(const std::vector<std::string>& labels, const std::vector<std::vector<float>>& y,
                    const std::vector<std::vector<float>>& score, int bootstrap = 0, uint64_t seed = 0,
                    const std::map<std::string, double>& thresholds = {});

}  // namespace rg::metrics
