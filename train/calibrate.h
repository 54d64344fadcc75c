// Choosing a model's operating points (models/operating_points.h) on a labeled set: `roentgen
// train` does it on the validation set at the end of training (into best.safetensors), `roentgen
// calibrate` on a set the user names.
#pragma once

#include <string>
#include <vector>

#include "data/labels.h"
#include "metrics/decisions.h"
#include "models/operating_points.h"

namespace rg {

// Per model label, `rule`'s threshold over the images of `set` (probs: predict_all's rows, in the
// set's order; an empty row, a skipped image, is left out) where the label is known. A label the
// set does not have, or where the rule finds no threshold, gets none.
OperatingPoints choose_operating_points(const std::vector<std::string>& model_labels, const data::LabelTable& set,
                                        const std::vector<std::vector<float>>& probs,
                                        const metrics::OperatingRule& rule);

}  // namespace rg
