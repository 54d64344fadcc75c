// roentgen benchmark: one model over several datasets — external validation, the table
// torchxrayvision's BENCHMARKS.md gives for each of its models, made by one command.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "metrics/evaluate.h"

namespace rg::app {

// One dataset's scores, one per model label; a label the dataset does not annotate for any
// scored image has annotated = false ("n/a").
struct DatasetScores {
  std::string name, labels, images;  // as given: NAME=LABELS:IMAGES
  int64_t scored = 0;                // images scored (unreadable ones skipped with --skip-bad-images)
  std::vector<metrics::LabelMetrics> per_label;
  std::vector<bool> annotated;
};

// The table with labels down and datasets across, each cell "AUROC [95% interval] positives" or
// n/a; as CSV (one row per dataset and label), JSON, and an HTML page with the cells shaded by
// AUROC (a heat map).
std::string benchmark_table(const std::vector<std::string>& labels, const std::vector<DatasetScores>& datasets);
std::string benchmark_csv(const std::vector<std::string>& labels, const std::vector<DatasetScores>& datasets);
std::string benchmark_json(const std::string& model, const std::vector<std::string>& labels,
                           const std::vector<DatasetScores>& datasets);
void write_benchmark_html(const std::string& path, const std::string& model, const std::vector<std::string>& labels,
                          const std::vector<DatasetScores>& datasets);

int benchmark_command(int argc, char** argv, const char* usage);

}  // namespace rg::app
