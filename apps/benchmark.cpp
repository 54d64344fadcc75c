#include "apps/benchmark.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/flags.h"
#include "data/image_source.h"
#include "data/labels.h"
#include "data/loader.h"
#include "data/merge.h"
#include "data/csv.h"
#include "models/model_file.h"
#include "report/html.h"
#include "report/svg.h"
#include "tensor/io.h"
#include "train/trainer.h"

namespace rg::app {

namespace {

// The model's probabilities for every image of one dataset, scored per label the dataset has.
DatasetScores score_dataset(DatasetScores d, Classifier& model, const std::vector<std::string>& labels,
                            data::LoaderOptions options, int bootstrap, uint64_t seed) {
  const data::LabelTable table = data::read_labels(d.labels);
  data::DataLoader loader(table, data::open_image_source(d.images), options);
  std::cerr << "roentgen benchmark: " << d.name << ", " << table.size() << " images\n";
  const std::vector<std::vector<float>> probs = predict_all(model, loader, true);
  std::vector<std::string> present;
  std::vector<std::vector<float>> y, score;
  std::vector<size_t> model_column;
  for (size_t k = 0; k < labels.size(); ++k) {
    const auto at = std::find(table.label_names.begin(), table.label_names.end(), labels[k]);
    if (at == table.label_names.end()) continue;
    present.push_back(labels[k]);
    model_column.push_back(k);
    y.emplace_back();
    score.emplace_back();
    for (size_t i = 0; i < table.size(); ++i) {
      if (probs[i].empty()) continue;  // skipped: unreadable
      y.back().push_back(table.images[i].labels[size_t(at - table.label_names.begin())]);
      score.back().push_back(probs[i][k]);
    }
  }
  d.scored = int64_t(std::count_if(probs.begin(), probs.end(), [](const auto& p) { return !p.empty(); }));
  const metrics::Evaluation e = metrics::evaluate(present, y, score, bootstrap, seed);
  d.per_label.resize(labels.size());
  d.annotated.assign(labels.size(), false);
  for (size_t j = 0; j < present.size(); ++j) {
    d.per_label[model_column[j]] = e.per_label[j];
    d.annotated[model_column[j]] = e.per_label[j].positives + e.per_label[j].negatives > 0;
  }
  for (size_t k = 0; k < labels.size(); ++k) d.per_label[k].label = labels[k];
  return d;
}

std::string number(double v, const char* format = "%.3f") {
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

// "0.812 [0.780, 0.841] 123+", or n/a: no image with the label known, or one class only.
std::string cell(const DatasetScores& d, size_t k) {
  const metrics::LabelMetrics& m = d.per_label[k];
  if (!d.annotated[k] || !m.auc) return "n/a";
  std::string text = number(*m.auc);
  if (m.auc_ci95) text += " [" + number(m.auc_ci95->low) + ", " + number(m.auc_ci95->high) + "]";
  return text + " " + std::to_string(m.positives) + "+";
}

}  // namespace

std::string benchmark_table(const std::vector<std::string>& labels, const std::vector<DatasetScores>& datasets) {
  std::vector<size_t> width{5};
  for (const auto& l : labels) width[0] = std::max(width[0], l.size());
  for (const auto& d : datasets) {
    size_t w = d.name.size();
    for (size_t k = 0; k < labels.size(); ++k) w = std::max(w, cell(d, k).size());
    width.push_back(w);
  }
  const auto pad = [](const std::string& s, size_t w) { return s + std::string(w - std::min(w, s.size()) + 2, ' '); };
  std::string out = pad("label", width[0]);
  for (size_t j = 0; j < datasets.size(); ++j) out += pad(datasets[j].name, width[j + 1]);
  out += "\n";
  for (size_t k = 0; k < labels.size(); ++k) {
    out += pad(labels[k], width[0]);
    for (size_t j = 0; j < datasets.size(); ++j) out += pad(cell(datasets[j], k), width[j + 1]);
    out += "\n";
  }
  out += pad("images", width[0]);
  for (size_t j = 0; j < datasets.size(); ++j) out += pad(std::to_string(datasets[j].scored), width[j + 1]);
  return out + "\n";
}

std::string benchmark_csv(const std::vector<std::string>& labels, const std::vector<DatasetScores>& datasets) {
  std::string out =
      data::csv_line({"dataset", "label", "images", "positives", "negatives", "auc", "auc_low", "auc_high"});
  for (const auto& d : datasets)
    for (size_t k = 0; k < labels.size(); ++k) {
      const metrics::LabelMetrics& m = d.per_label[k];
      const bool defined = d.annotated[k] && m.auc;
      out += data::csv_line({d.name, labels[k], std::to_string(d.scored), std::to_string(m.positives),
                             std::to_string(m.negatives), defined ? number(*m.auc, "%.6f") : "",
                             defined && m.auc_ci95 ? number(m.auc_ci95->low, "%.6f") : "",
                             defined && m.auc_ci95 ? number(m.auc_ci95->high, "%.6f") : ""});
    }
  return out;
}

std::string benchmark_json(const std::string& model, const std::vector<std::string>& labels,
                           const std::vector<DatasetScores>& datasets) {
  nlohmann::json j;
  j["model"] = model;
  j["labels"] = labels;
  for (const auto& d : datasets) {
    nlohmann::json per_label;
    for (size_t k = 0; k < labels.size(); ++k) {
      const metrics::LabelMetrics& m = d.per_label[k];
      const bool defined = d.annotated[k] && m.auc;
      per_label[labels[k]] = {
          {"auc", defined ? nlohmann::json(*m.auc) : nlohmann::json()},
          {"ci95", defined && m.auc_ci95 ? nlohmann::json({m.auc_ci95->low, m.auc_ci95->high}) : nlohmann::json()},
          {"positives", m.positives},
          {"negatives", m.negatives}};
    }
    j["datasets"].push_back(
        {{"name", d.name}, {"labels", d.labels}, {"images", d.images}, {"scored", d.scored}, {"per_label", per_label}});
  }
  return j.dump(2) + "\n";
}

void write_benchmark_html(const std::string& path, const std::string& model, const std::vector<std::string>& labels,
                          const std::vector<DatasetScores>& datasets) {
  report::HtmlReport page("roentgen benchmark");
  page.heading("One model, several datasets");
  page.paragraph("Model " + model + ". Each cell: the AUROC over the images where the label is known, its 95% " +
                 "bootstrap interval and the number of positives; n/a where the dataset does not annotate the " +
                 "label (or has one class only). Shaded from red (AUROC 0.5 or less) to green (1.0).");
  // Shade: 0.5 and below white-red, up to 1.0 green.
  const auto shade = [](double auc) {
    const double t = std::clamp((auc - 0.5) / 0.5, 0.0, 1.0);
    const int r = int(255 - 155 * t), g = int(200 + 55 * t), b = int(200 - 80 * t);
    char color[16];
    std::snprintf(color, sizeof color, "#%02x%02x%02x", r, g, b);
    return std::string(color);
  };
  std::string html = "<table><tr><th>label</th>";
  for (const auto& d : datasets) html += "<th>" + report::escape(d.name) + "</th>";
  html += "</tr>";
  for (size_t k = 0; k < labels.size(); ++k) {
    html += "<tr><td>" + report::escape(labels[k]) + "</td>";
    for (const auto& d : datasets) {
      const bool defined = d.annotated[k] && d.per_label[k].auc;
      html += "<td style=\"background:" + (defined ? shade(*d.per_label[k].auc) : std::string("#eeeeee")) + "\">" +
              report::escape(cell(d, k)) + "</td>";
    }
    html += "</tr>";
  }
  html += "<tr><td>images</td>";
  for (const auto& d : datasets) html += "<td>" + std::to_string(d.scored) + "</td>";
  page.raw(html + "</tr></table>");
  page.write(path);
}

int benchmark_command(int argc, char** argv, const char* usage) {
  const cli::Flags flags = cli::parse_flags(
      argc, argv, 2,
      {"--model", "--dataset", "--out", "--bootstrap", "--seed", "--batch-size", "--threads", "--device",
       "--max-image-pixels", "--label-format", "--uncertain", "--views", "--official-split"},
      usage, {"--one-per-patient", "--skip-bad-images"});
  for (const char* required : {"--model", "--dataset", "--out"})
    RG_CHECK(flags.count(required), "benchmark: ", required, " is required\n", usage);
  const Device device = cli::device_flag(flags);
  cli::image_limit_flag(flags);
  cli::label_flags(flags);
  const std::string out = flags.at("--out");
  std::filesystem::create_directories(out);
  const int bootstrap = int(cli::integer(flags, "--bootstrap", 1000, 0, 100000));
  const uint64_t seed = cli::seed(flags);

  const std::string model_path = flags.at("--model");
  const LoadedModel loaded = load_model(model_path);
  loaded.model->to(device);
  data::LoaderOptions options;
  options.batch_size = int(cli::integer(flags, "--batch-size", 8, 1, 4096));
  options.threads = cli::threads(flags, 2);
  options.skip_bad_images = flags.count("--skip-bad-images") > 0;
  options.width = options.height = int(loaded.info.image_size);
  options.shuffle = false;
  options.normalization = normalization_of(loaded.info, model_path);

  std::vector<DatasetScores> datasets;
  for (const std::string& spec : cli::all_values(argc, argv, 2, "--dataset")) {
    const data::DatasetSpec d = data::parse_dataset_spec(spec);
    datasets.push_back(
        score_dataset({d.name, d.labels, d.images}, *loaded.model, loaded.info.labels, options, bootstrap, seed));
  }
  const std::vector<std::string>& labels = loaded.info.labels;
  std::cout << benchmark_table(labels, datasets);
  const auto file = [&](const char* name) { return (std::filesystem::path(out) / name).string(); };
  write_file_atomic(file("benchmark.csv"), benchmark_csv(labels, datasets));
  write_file_atomic(file("benchmark.json"), benchmark_json(model_path, labels, datasets));
  write_benchmark_html(file("benchmark.html"), model_path, labels, datasets);
  std::cerr << "wrote " << file("benchmark.csv") << ", benchmark.json and benchmark.html\n";
  return 0;
}

}  // namespace rg::app
