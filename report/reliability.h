// The reliability diagram of an evaluation (metrics/calibration.h): per label, each bin's mean
// probability against its fraction of positives, beside the diagonal of perfect calibration.
#pragma once

#include <string>

#include "metrics/evaluate.h"

namespace rg::report {

std::string reliability_diagram(const std::string& title, const metrics::Evaluation& evaluation);

}  // namespace rg::report
