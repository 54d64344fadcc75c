#include "metrics/evaluate.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "metrics/decisions.h"
#include "tensor/error.h"

namespace rg::metrics {

namespace {

// A predicted probability: a plain decimal number (no hex, inf or nan) from 0 to 1.
float probability(const data::CsvTable& preds, const data::CsvRow& row, int column) {
  const std::string& text = row.fields[column];
  double v = std::nan("");
  const bool plain = !text.empty() && text.find_first_not_of("0123456789+-.eE") == std::string::npos;
  if (plain) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (error != std::errc() || end != text.data() + text.size()) v = std::nan("");
  }
  RG_CHECK(!std::isnan(v), preds.where(row, column), ": expected a probability from 0 to 1, found '", text, "'");
  RG_CHECK(v >= 0 && v <= 1, preds.where(row, column), ": probability ", text, " is outside 0..1");
  return float(v);
}

// The images whose label is known (not NaN: losses/known_labels.h), with their scores.
std::pair<std::vector<float>, std::vector<float>> known_only(const std::vector<float>& y,
                                                             const std::vector<float>& score) {
  std::pair<std::vector<float>, std::vector<float>> out;
  for (size_t i = 0; i < y.size(); ++i)
    if (!std::isnan(y[i])) {
      out.first.push_back(y[i]);
      out.second.push_back(score[i]);
    }
  return out;
}

}  // namespace

Evaluation evaluate(const std::vector<std::string>& labels, const std::vector<std::vector<float>>& y,
                    const std::vector<std::vector<float>>& score, int bootstrap, uint64_t seed,
                    const std::map<std::string, double>& thresholds) {
  Evaluation e;
  e.n = y.empty() ? 0 : int64_t(y[0].size());
  double sum = 0;
  int defined = 0;
  for (size_t k = 0; k < labels.size(); ++k) {
    LabelMetrics m;
    m.label = labels[k];
    const auto [known_y, known_score] = known_only(y[k], score[k]);
    for (float v : known_y) (v > 0.5f ? m.positives : m.negatives) += 1;
    m.auc = auroc(known_y, known_score);
    m.average_precision = average_precision(known_y, known_score);
    m.youden = choose_threshold(known_y, known_score, OperatingRule{});
    m.calibration = calibration(known_y, known_score);
    if (bootstrap > 0) m.auc_ci95 = auroc_ci95(known_y, known_score, bootstrap, seed + k);
    if (const auto t = thresholds.find(labels[k]); t != thresholds.end()) {
      m.threshold = t->second;
      m.decisions = decisions_at(known_y, known_score, t->second);
    }
    if (m.auc) sum += *m.auc, ++defined;
    e.per_label.push_back(m);
  }
  if (defined) e.mean_auc = sum / defined;
  return e;
}

Evaluation evaluate(const data::LabelTable& truth, const data::CsvTable& preds, int bootstrap, uint64_t seed,
                    const std::map<std::string, double>& thresholds) {
  int image_col = preds.column("Image");
  if (image_col < 0) image_col = preds.column("Image Index");
  RG_CHECK(image_col >= 0, preds.path, ": no 'Image' or 'Image Index' column");
  std::vector<int> columns;
  for (const auto& label : truth.label_names) {
    int c = preds.column(label);
    if (c < 0) c = preds.column("prob_" + label);
    RG_CHECK(c >= 0, preds.path, ": no column '", label, "' or 'prob_", label, "' for label ", label, " of ",
             truth.source);
    columns.push_back(c);
  }
  std::unordered_map<std::string, size_t> row_of;
  for (size_t i = 0; i < truth.images.size(); ++i) row_of[truth.images[i].image] = i;

  const size_t L = truth.label_names.size();
  std::vector<std::vector<float>> y(L), score(L);
  std::unordered_map<std::string, int> predicted_on;  // image -> line, to refuse a second prediction
  for (const auto& row : preds.rows) {
    const std::string& image = row.fields[image_col];
    auto it = row_of.find(image);
    RG_CHECK(it != row_of.end(), preds.where(row, image_col), ": image ", image, " has no labels in ", truth.source);
    const auto [seen, fresh] = predicted_on.emplace(image, row.line);
    RG_CHECK(fresh, preds.where(row, image_col), ": image ", image, " is predicted again (first on line ", seen->second,
             ")");
    for (size_t k = 0; k < L; ++k) {
      y[k].push_back(truth.images[it->second].labels[k]);
      score[k].push_back(probability(preds, row, columns[k]));
    }
  }
  RG_CHECK(!preds.rows.empty(), preds.path, ": no predictions");
  return evaluate(truth.label_names, y, score, bootstrap, seed, thresholds);
}

namespace {

// A rate as JSON: its value and 95% Wilson interval, or null.
nlohmann::ordered_json rate_json(const Rate& r) {
  if (!r.value()) return nullptr;
  return {{"value", *r.value()}, {"ci95", {r.ci95()->low, r.ci95()->high}}, {"of", r.n}};
}

}  // namespace

std::string Evaluation::to_json() const {
  nlohmann::ordered_json j;
  nlohmann::ordered_json labels = nlohmann::json::array(), auc = nlohmann::ordered_json::object(),
                         ci = nlohmann::ordered_json::object(), ap = nlohmann::ordered_json::object(),
                         counts = nlohmann::ordered_json::object(), youden_j = nlohmann::ordered_json::object();
  for (const auto& m : per_label) {
    labels.push_back(m.label);
    auc[m.label] = m.auc ? nlohmann::ordered_json(*m.auc) : nlohmann::ordered_json(nullptr);
    ci[m.label] = m.auc_ci95 ? nlohmann::ordered_json::array({m.auc_ci95->low, m.auc_ci95->high})
                             : nlohmann::ordered_json(nullptr);
    ap[m.label] = m.average_precision ? nlohmann::ordered_json(*m.average_precision) : nlohmann::ordered_json(nullptr);
    counts[m.label] = {{"positives", m.positives}, {"negatives", m.negatives}};
    youden_j[m.label] = m.youden ? nlohmann::ordered_json{{"threshold", m.youden->threshold},
                                                          {"sensitivity", m.youden->sensitivity},
                                                          {"specificity", m.youden->specificity}}
                                 : nlohmann::ordered_json(nullptr);
  }
  j["labels"] = labels;
  j["auc"] = auc;
  j["auc_ci95"] = ci;
  j["mean_auc"] = mean_auc ? nlohmann::ordered_json(*mean_auc) : nlohmann::ordered_json(nullptr);
  j["n"] = n;
  j["average_precision"] = ap;
  j["youden"] = youden_j;
  j["counts"] = counts;
  nlohmann::ordered_json points = nlohmann::ordered_json::object();
  for (const auto& m : per_label)
    if (m.decisions) {
      const Decisions& d = *m.decisions;
      points[m.label] = {{"threshold", *m.threshold},
                         {"tp", d.tp},
                         {"fp", d.fp},
                         {"tn", d.tn},
                         {"fn", d.fn},
                         {"sensitivity", rate_json(d.sensitivity())},
                         {"specificity", rate_json(d.specificity())},
                         {"ppv", rate_json(d.ppv())},
                         {"npv", rate_json(d.npv())}};
    }
  if (!points.empty()) j["operating_points"] = points;
  nlohmann::ordered_json calibrations = nlohmann::ordered_json::object();
  for (const auto& m : per_label) {
    if (!m.calibration) {
      calibrations[m.label] = nullptr;
      continue;
    }
    nlohmann::ordered_json bins = nlohmann::ordered_json::array();
    for (const ReliabilityBin& b : m.calibration->bins)
      bins.push_back(
          {{"count", b.count}, {"mean_probability", b.mean_probability}, {"fraction_positive", b.fraction_positive}});
    calibrations[m.label] = {{"ece", m.calibration->ece}, {"brier", m.calibration->brier}, {"bins", bins}};
  }
  j["calibration"] = calibrations;
  return j.dump(2);
}

std::string Evaluation::table() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof(line), "%-20s %7s %7s %8s %17s %7s %7s %7s\n", "label", "pos", "neg", "AUROC", "95% CI",
                "AP", "ECE", "Brier");
  out += line;
  for (const auto& m : per_label) {
    char auc[16] = "n/a", ci[32] = "", ap[16] = "-", ece[16] = "-", brier[16] = "-";
    if (m.auc) std::snprintf(auc, sizeof(auc), "%.4f", *m.auc);
    if (m.auc_ci95) std::snprintf(ci, sizeof(ci), "[%.3f, %.3f]", m.auc_ci95->low, m.auc_ci95->high);
    if (m.average_precision) std::snprintf(ap, sizeof(ap), "%.4f", *m.average_precision);
    if (m.calibration) std::snprintf(ece, sizeof(ece), "%.4f", m.calibration->ece);
    if (m.calibration) std::snprintf(brier, sizeof(brier), "%.4f", m.calibration->brier);
    std::snprintf(line, sizeof(line), "%-20s %7lld %7lld %8s %17s %7s %7s %7s\n", m.label.c_str(),
                  static_cast<long long>(m.positives), static_cast<long long>(m.negatives), auc, ci, ap, ece, brier);
    out += line;
  }
  if (mean_auc) {
    std::snprintf(line, sizeof(line), "mean AUROC %.4f over %lld images\n", *mean_auc, static_cast<long long>(n));
    out += line;
  }
  if (std::none_of(per_label.begin(), per_label.end(), [](const LabelMetrics& m) { return m.decisions.has_value(); }))
    return out;
  std::snprintf(line, sizeof(line),
                "at the model's operating points (95%% Wilson intervals):\n%-20s %9s %20s %20s %20s %20s\n", "label",
                "threshold", "sensitivity", "specificity", "PPV", "NPV");
  out += line;
  for (const auto& m : per_label) {
    if (!m.decisions) continue;
    const Decisions& d = *m.decisions;
    std::snprintf(line, sizeof(line), "%-20s %9.4f %20s %20s %20s %20s\n", m.label.c_str(), *m.threshold,
                  d.sensitivity().text().c_str(), d.specificity().text().c_str(), d.ppv().text().c_str(),
                  d.npv().text().c_str());
    out += line;
  }
  return out;
}

std::string predictions_csv(const std::vector<std::string>& images, const std::vector<std::string>& labels,
                            const std::vector<std::vector<float>>& probs,
                            const std::vector<std::optional<double>>& thresholds, PredictionColumns columns) {
  RG_CHECK(images.size() == probs.size(), "predictions_csv: ", images.size(), " images but ", probs.size(),
           " rows of probabilities");
  const bool with_probs = columns != PredictionColumns::kDecisions,
             with_decisions = columns != PredictionColumns::kProbabilities;
  RG_CHECK(!with_decisions || thresholds.size() == labels.size(), "predictions_csv: ", thresholds.size(),
           " thresholds for ", labels.size(), " labels");
  std::vector<std::string> header{"Image"};
  if (with_probs) header.insert(header.end(), labels.begin(), labels.end());
  if (with_decisions)
    for (const std::string& label : labels) header.push_back("decision_" + label);
  std::string out = data::csv_line(header);
  for (size_t i = 0; i < probs.size(); ++i) {
    RG_CHECK(probs[i].size() == labels.size(), "predictions_csv: ", images[i], " has ", probs[i].size(),
             " probabilities for ", labels.size(), " labels");
    std::vector<std::string> fields{images[i]};
    for (size_t k = 0; with_probs && k < labels.size(); ++k) {
      char number[32];
      std::snprintf(number, sizeof(number), "%.7g", probs[i][k]);
      fields.push_back(number);
    }
    for (size_t k = 0; with_decisions && k < labels.size(); ++k)
      fields.push_back(!thresholds[k] ? "" : double(probs[i][k]) >= *thresholds[k] ? "1" : "0");
    out += data::csv_line(fields);
  }
  return out;
}

}  // namespace rg::metrics
