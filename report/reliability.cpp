#include "report/reliability.h"

#include <cstdio>

#include "report/svg.h"

namespace rg::report {

std::string reliability_diagram(const std::string& title, const metrics::Evaluation& evaluation) {
  std::vector<LineSeries> series;
  for (size_t k = 0; k < evaluation.per_label.size(); ++k) {
    const metrics::LabelMetrics& m = evaluation.per_label[k];
    if (!m.calibration) continue;
    char name[96];
    std::snprintf(name, sizeof(name), "%s (ECE %.3f)", m.label.c_str(), m.calibration->ece);
    LineSeries s{name, {}, {}, palette(k)};
    for (const metrics::ReliabilityBin& b : m.calibration->bins) {
      s.x.push_back(b.mean_probability);
      s.y.push_back(b.fraction_positive);
    }
    series.push_back(s);
  }
  return line_chart(title, {"mean predicted probability (10 equal-mass bins)", "fraction positive", 0, 1, 0, 1, true},
                    series);
}

}  // namespace rg::report
