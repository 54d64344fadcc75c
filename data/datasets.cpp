#include "data/datasets.h"

#include <algorithm>
#include <map>

#include "tensor/error.h"

namespace rg::data {

LabelOptions& label_options() {
  static LabelOptions options;
  return options;
}

LabelFormat label_format_from_name(const std::string& name) {
  const std::pair<const char*, LabelFormat> known[] = {{"auto", LabelFormat::kAuto},
                                                       {"nih", LabelFormat::kNih},
                                                       {"notebook", LabelFormat::kNotebook},
                                                       {"chexpert", LabelFormat::kCheXpert},
                                                       {"rsna", LabelFormat::kRsna}};
  for (const auto& [n, format] : known)
    if (name == n) return format;
  throw Error("unknown label format '" + name + "' (expected auto, nih, notebook, chexpert or rsna)");
}

Uncertain uncertain_from_name(const std::string& name) {
  if (name == "ignore") return Uncertain::kIgnore;
  if (name == "ones") return Uncertain::kOnes;
  if (name == "zeros") return Uncertain::kZeros;
  throw Error("unknown policy for uncertain labels '" + name + "' (expected ignore, ones or zeros)");
}

namespace {

// A dataset's findings that are in the label space, in label-space order: (the dataset's column,
// the label-space name).
using Mapping = std::vector<std::pair<std::string, std::string>>;
Mapping in_label_space_order(Mapping mapping) {
  const auto rank = [](const std::string& label) {
    return std::find(kLabelSpace.begin(), kLabelSpace.end(), label) - kLabelSpace.begin();
  };
  std::sort(mapping.begin(), mapping.end(),
            [&](const auto& a, const auto& b) { return rank(a.second) < rank(b.second); });
  return mapping;
}

const Mapping kCheXpert = in_label_space_order({{"Enlarged Cardiomediastinum", "Enlarged Cardiomediastinum"},
                                                {"Cardiomegaly", "Cardiomegaly"},
                                                {"Lung Opacity", "Lung Opacity"},
                                                {"Lung Lesion", "Lung Lesion"},
                                                {"Edema", "Edema"},
                                                {"Consolidation", "Consolidation"},
                                                {"Pneumonia", "Pneumonia"},
                                                {"Atelectasis", "Atelectasis"},
                                                {"Pneumothorax", "Pneumothorax"},
                                                {"Pleural Effusion", "Effusion"},
                                                {"Fracture", "Fracture"}});

// A CheXpert observation: 1.0, 0.0, -1.0 (uncertain) or blank (not mentioned).
float chexpert_value(const CsvTable& csv, const CsvRow& row, int column, Uncertain uncertain) {
  const std::string v = trim(row.fields[column]);
  if (v.empty()) return kMissing;
  if (v == "1.0" || v == "1") return 1.0f;
  if (v == "0.0" || v == "0") return 0.0f;
  RG_CHECK(v == "-1.0" || v == "-1", csv.where(row, column), ": expected 1.0, 0.0, -1.0 (uncertain) or blank, found '",
           v, "'");
  return uncertain == Uncertain::kOnes ? 1.0f : uncertain == Uncertain::kZeros ? 0.0f : kMissing;
}

// "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg": the image below the
// release's folder, and the patient folder.
LabeledImage chexpert_identity(const CsvTable& csv, const CsvRow& row, int path_col) {
  const std::string path = trim(row.fields[path_col]);
  const size_t slash = path.find('/'), patient = path.find("/patient");
  RG_CHECK(slash != std::string::npos && patient != std::string::npos, csv.where(row, path_col), ": expected a path ",
           "like CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg, found '", path, "'");
  const size_t patient_end = path.find('/', patient + 1);
  LabeledImage item;
  item.image = path.substr(slash + 1);
  item.patient_id =
      path.substr(patient + 1, patient_end == std::string::npos ? std::string::npos : patient_end - patient - 1);
  return item;
}

}  // namespace

LabelTable read_chexpert(const CsvTable& csv, Uncertain uncertain) {
  LabelTable table;
  table.source = csv.path;
  const int path_col = csv.require_column("Path"), no_finding_col = csv.require_column("No Finding");
  std::vector<int> columns;
  for (const auto& [column, label] : kCheXpert) {
    columns.push_back(csv.require_column(column));
    table.label_names.push_back(label);
  }
  check_unique_images(csv, path_col);
  for (const CsvRow& row : csv.rows) {
    LabeledImage item = chexpert_identity(csv, row, path_col);
    const bool no_finding = chexpert_value(csv, row, no_finding_col, Uncertain::kIgnore) == 1.0f;
    for (int column : columns) item.labels.push_back(no_finding ? 0.0f : chexpert_value(csv, row, column, uncertain));
    table.images.push_back(std::move(item));
  }
  return table;
}

LabelTable read_rsna(const CsvTable& csv) {
  LabelTable table;
  table.source = csv.path;
  table.label_names = {"Pneumonia", "Lung Opacity"};
  const int id_col = csv.require_column("patientId"), target_col = csv.require_column("Target");
  std::map<std::string, size_t> row_of;  // an image's place in the table
  for (const CsvRow& row : csv.rows) {
    const std::string id = trim(row.fields[id_col]), target = trim(row.fields[target_col]);
    RG_CHECK(!id.empty(), csv.where(row, id_col), ": missing patientId");
    RG_CHECK(target == "0" || target == "1", csv.where(row, target_col), ": expected Target 0 or 1, found '", target,
             "'");
    const auto [at, fresh] = row_of.emplace(id, table.images.size());
    if (fresh) table.images.push_back({id + ".dcm", {0.0f, 0.0f}, id});
    if (target == "1") table.images[at->second].labels = {1.0f, 1.0f};  // one box is enough
  }
  return table;
}

}  // namespace rg::data
