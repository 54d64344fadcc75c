#include "train/calibrate.h"

#include <algorithm>

#include "tensor/error.h"

namespace rg {

OperatingPoints choose_operating_points(const std::vector<std::string>& model_labels, const data::LabelTable& set,
                                        const std::vector<std::vector<float>>& probs,
                                        const metrics::OperatingRule& rule) {
  RG_CHECK(probs.size() == set.size(), "choose_operating_points: ", probs.size(), " rows of probabilities for ",
           set.size(), " images");
  OperatingPoints points;
  points.rule = rule.name();
  points.set = set.source;
  for (size_t k = 0; k < model_labels.size(); ++k) {
    const auto column = std::find(set.label_names.begin(), set.label_names.end(), model_labels[k]);
    if (column == set.label_names.end()) continue;
    const size_t c = size_t(column - set.label_names.begin());
    std::vector<float> y, score;
    for (size_t i = 0; i < set.size(); ++i)
      if (!probs[i].empty()) {
        y.push_back(set.images[i].labels[c]);
        score.push_back(probs[i][k]);
      }
    const auto chosen = metrics::choose_threshold(y, score, rule);
    if (!chosen) continue;
    const metrics::Decisions d = metrics::decisions_at(y, score, chosen->threshold);
    points.labels[model_labels[k]] = {chosen->threshold, d.tp + d.fn, d.tn + d.fp, chosen->sensitivity,
                                      chosen->specificity};
  }
  return points;
}

}  // namespace rg
