#include "data/datasets.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "tensor/error.h"

namespace rg::data {

LabelOptions& label_options() {
  static LabelOptions options;
  return options;
}

LabelFormat label_format_from_name(const std::string& name) {
  const std::pair<const char*, LabelFormat> known[] = {
      {"auto", LabelFormat::kAuto},         {"nih", LabelFormat::kNih},     {"notebook", LabelFormat::kNotebook},
      {"chexpert", LabelFormat::kCheXpert}, {"mimic", LabelFormat::kMimic}, {"vindr", LabelFormat::kVinDr},
      {"padchest", LabelFormat::kPadChest}, {"rsna", LabelFormat::kRsna}};
  for (const auto& [n, format] : known)
    if (name == n) return format;
  throw Error("unknown label format '" + name +
              "' (expected auto, nih, notebook, chexpert, mimic, vindr, padchest or rsna)");
}

size_t label_space_rank(const std::string& label) {
  return size_t(std::find(kLabelSpace.begin(), kLabelSpace.end(), label) - kLabelSpace.begin());
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
  std::stable_sort(mapping.begin(), mapping.end(), [](const auto& a, const auto& b) {
    return label_space_rank(a.second) < label_space_rank(b.second);
  });
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

const Mapping kVinDr = in_label_space_order({{"Atelectasis", "Atelectasis"},
                                             {"Cardiomegaly", "Cardiomegaly"},
                                             {"Consolidation", "Consolidation"},
                                             {"Edema", "Edema"},
                                             {"Pleural effusion", "Effusion"},
                                             {"Emphysema", "Emphysema"},
                                             {"Pulmonary fibrosis", "Fibrosis"},
                                             {"Infiltration", "Infiltration"},
                                             {"Pleural thickening", "Pleural_Thickening"},
                                             {"Pneumonia", "Pneumonia"},
                                             {"Pneumothorax", "Pneumothorax"},
                                             {"Nodule/Mass", "Lung Lesion"},
                                             {"Lung Opacity", "Lung Opacity"},
                                             {"Clavicle fracture", "Fracture"},
                                             {"Rib fracture", "Fracture"}});

// The label-space names of a mapping, each once, in its (label-space) order.
std::vector<std::string> labels_of(const Mapping& mapping) {
  std::vector<std::string> labels;
  for (const auto& [column, label] : mapping)
    if (labels.empty() || labels.back() != label) labels.push_back(label);
  return labels;
}

size_t index_of(const std::vector<std::string>& names, const std::string& name) {
  return size_t(std::find(names.begin(), names.end(), name) - names.begin());
}

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

namespace {
// The 14 observations' columns of CheXpert's labeler output (CheXpert's table, MIMIC-CXR's), and
// one row's labels: No Finding = 1 zeroes every mapped observation, -1 follows `uncertain`.
struct CheXpertColumns {
  int no_finding;
  std::vector<int> mapped;
  explicit CheXpertColumns(const CsvTable& csv) : no_finding(csv.require_column("No Finding")) {
    for (const auto& [column, label] : kCheXpert) mapped.push_back(csv.require_column(column));
  }
  std::vector<float> labels(const CsvTable& csv, const CsvRow& row, Uncertain uncertain) const {
    const bool healthy = chexpert_value(csv, row, no_finding, Uncertain::kIgnore) == 1.0f;
    std::vector<float> out;
    for (int column : mapped) out.push_back(healthy ? 0.0f : chexpert_value(csv, row, column, uncertain));
    return out;
  }
};

std::vector<std::string> chexpert_labels() {
  std::vector<std::string> names;
  for (const auto& [column, label] : kCheXpert) names.push_back(label);
  return names;
}
}  // namespace

LabelTable read_chexpert(const CsvTable& csv, Uncertain uncertain) {
  LabelTable table{csv.path, chexpert_labels(), {}};
  const int path_col = csv.require_column("Path"), frontal_col = csv.require_column("Frontal/Lateral");
  const int ap_pa_col = csv.column("AP/PA");
  const CheXpertColumns columns(csv);
  check_unique_images(csv, path_col);
  for (const CsvRow& row : csv.rows) {
    LabeledImage item = chexpert_identity(csv, row, path_col);
    const std::string ap_pa = ap_pa_col < 0 ? "" : trim(row.fields[ap_pa_col]);
    item.view = trim(row.fields[frontal_col]) == "Lateral" ? "Lateral" : ap_pa.empty() ? "Frontal" : ap_pa;
    item.labels = columns.labels(csv, row, uncertain);
    table.images.push_back(std::move(item));
  }
  return table;
}

namespace {
// MIMIC-CXR-JPG's other tables lie beside its labels, named alike:
// mimic-cxr-2.0.0-chexpert.csv.gz -> mimic-cxr-2.0.0-metadata.csv.gz.
CsvTable mimic_companion(const std::string& labels_path, const std::string& part) {
  const std::filesystem::path path(labels_path);
  std::string name = path.filename().string();
  const size_t at = name.find("chexpert");
  RG_CHECK(at != std::string::npos, labels_path, ": a MIMIC-CXR label table is named mimic-cxr-2.0.0-chexpert.csv",
           "(.gz), so that its ", part, " table is found beside it");
  name.replace(at, 8, part);
  const std::string companion = (path.parent_path() / name).string();
  RG_CHECK(std::filesystem::exists(companion), labels_path, ": MIMIC-CXR's ", part, " table ", companion,
           " is not beside it (it gives each study's images", part == "split" ? " their official split)" : ")");
  return read_csv(companion);
}
}  // namespace

LabelTable read_mimic(const CsvTable& csv, Uncertain uncertain, const std::string& split) {
  LabelTable table{csv.path, chexpert_labels(), {}};
  const int study_col = csv.require_column("study_id");
  const CheXpertColumns columns(csv);
  std::map<std::string, std::vector<float>> by_study;
  for (const CsvRow& row : csv.rows) by_study[trim(row.fields[study_col])] = columns.labels(csv, row, uncertain);

  std::set<std::string> in_split;  // dicom_ids of the official split asked for
  if (!split.empty()) {
    const CsvTable splits = mimic_companion(csv.path, "split");
    const int id = splits.require_column("dicom_id"), part = splits.require_column("split");
    for (const CsvRow& row : splits.rows)
      if (trim(row.fields[part]) == split) in_split.insert(trim(row.fields[id]));
    RG_CHECK(!in_split.empty(), splits.path, ": no image in split '", split,
             "' (MIMIC-CXR's are train, validate, test)");
  }
  const CsvTable meta = mimic_companion(csv.path, "metadata");
  const int id_col = meta.require_column("dicom_id"), subject_col = meta.require_column("subject_id");
  const int meta_study_col = meta.require_column("study_id"), view_col = meta.column("ViewPosition");
  check_unique_images(meta, id_col);
  for (const CsvRow& row : meta.rows) {
    const std::string id = trim(row.fields[id_col]), subject = trim(row.fields[subject_col]);
    const std::string study = trim(row.fields[meta_study_col]);
    RG_CHECK(subject.size() >= 2, meta.where(row, subject_col), ": expected a subject_id, found '", subject, "'");
    const auto labels = by_study.find(study);
    if (labels == by_study.end() || (!split.empty() && !in_split.count(id))) continue;  // no labels, or another split
    LabeledImage item;
    item.image = "files/p" + subject.substr(0, 2) + "/p" + subject + "/s" + study + "/" + id + ".jpg";
    item.patient_id = subject;
    item.labels = labels->second;
    if (view_col >= 0) item.view = trim(row.fields[view_col]);
    table.images.push_back(std::move(item));
  }
  return table;
}

LabelTable read_vindr(const CsvTable& csv) {
  LabelTable table;
  table.source = csv.path;
  table.label_names = labels_of(kVinDr);
  const int id_col = csv.require_column("image_id"), rad_col = csv.column("rad_id");
  std::vector<std::pair<int, size_t>> columns;  // (the release's column, the label)
  for (const auto& [column, label] : kVinDr)
    columns.emplace_back(csv.require_column(column), index_of(table.label_names, label));
  if (rad_col < 0) check_unique_images(csv, id_col);  // the test set: one consensus row per image
  std::map<std::string, size_t> row_of;
  std::vector<std::vector<int>> votes;  // per image and label: how many rows say 1
  std::vector<int> readers;             // per image: how many rows
  for (const CsvRow& row : csv.rows) {
    const std::string id = trim(row.fields[id_col]);
    RG_CHECK(!id.empty(), csv.where(row, id_col), ": missing image_id");
    const auto [at, fresh] = row_of.emplace(id, table.images.size());
    if (fresh) {
      table.images.push_back({id + ".dicom", {}, id});
      votes.emplace_back(table.label_names.size(), 0);
      readers.push_back(0);
    }
    ++readers[at->second];
    std::vector<bool> says(table.label_names.size(), false);  // Clavicle and Rib fracture: one vote
    for (const auto& [column, label] : columns) {
      const std::string v = trim(row.fields[column]);
      RG_CHECK(v == "0" || v == "1" || v == "0.0" || v == "1.0", csv.where(row, column), ": expected 0 or 1, found '",
               v, "'");
      if (v[0] == '1') says[label] = true;
    }
    for (size_t k = 0; k < says.size(); ++k) votes[at->second][k] += says[k];
  }
  for (size_t i = 0; i < table.images.size(); ++i)
    for (size_t k = 0; k < table.label_names.size(); ++k)
      table.images[i].labels.push_back(2 * votes[i][k] > readers[i] ? 1.0f : 0.0f);  // the majority
  return table;
}

const std::vector<std::pair<std::string, std::vector<std::string>>> kPadChestSynonyms = {
    {"Atelectasis",
     {"atelectasis", "laminar atelectasis", "lobar atelectasis", "segmental atelectasis", "total atelectasis"}},
    {"Cardiomegaly", {"cardiomegaly"}},
    {"Consolidation", {"consolidation"}},
    {"Edema", {"pulmonary edema"}},
    {"Effusion", {"pleural effusion"}},
    {"Emphysema", {"emphysema"}},
    {"Fibrosis", {"pulmonary fibrosis"}},
    {"Hernia", {"hiatal hernia"}},
    {"Infiltration", {"infiltrates", "interstitial pattern", "reticular interstitial pattern", "alveolar pattern"}},
    {"Mass", {"mass", "pulmonary mass"}},
    {"Nodule", {"nodule", "multiple nodules"}},
    {"Pleural_Thickening", {"pleural thickening", "apical pleural thickening"}},
    {"Pneumonia", {"pneumonia"}},
    {"Pneumothorax", {"pneumothorax"}},
    {"Fracture", {"fracture", "rib fracture", "clavicle fracture", "vertebral fracture", "humeral fracture"}}};

namespace {
// PadChest's Labels: "['pneumonia', 'infiltrates']" -> {"pneumonia", "infiltrates"}, trimmed.
std::vector<std::string> python_list(const CsvTable& csv, const CsvRow& row, int column) {
  const std::string text = trim(row.fields[column]);
  RG_CHECK(text.size() >= 2 && text.front() == '[' && text.back() == ']', csv.where(row, column),
           ": expected a list like ['pneumonia', 'infiltrates'], found '", text, "'");
  std::vector<std::string> items;
  for (size_t at = 1; at + 1 < text.size();) {
    const size_t open = text.find('\'', at);
    if (open == std::string::npos || open + 1 >= text.size() - 1) break;
    const size_t close = text.find('\'', open + 1);
    RG_CHECK(close != std::string::npos && close < text.size() - 1, csv.where(row, column), ": an unclosed quote in '",
             text, "'");
    items.push_back(trim(text.substr(open + 1, close - open - 1)));
    at = close + 1;
  }
  return items;
}
}  // namespace

LabelTable read_padchest(const CsvTable& csv) {
  LabelTable table;
  table.source = csv.path;
  for (const auto& [label, synonyms] : kPadChestSynonyms) table.label_names.push_back(label);
  const int id_col = csv.require_column("ImageID"), dir_col = csv.require_column("ImageDir");
  const int patient_col = csv.require_column("PatientID"), labels_col = csv.require_column("Labels");
  const int view_col = csv.column("Projection");
  check_unique_images(csv, id_col);
  for (const CsvRow& row : csv.rows) {
    LabeledImage item;
    item.image = trim(row.fields[dir_col]) + "/" + trim(row.fields[id_col]);
    item.patient_id = trim(row.fields[patient_col]);
    RG_CHECK(!item.patient_id.empty(), csv.where(row, patient_col), ": missing patient id");
    if (view_col >= 0) item.view = trim(row.fields[view_col]);
    const std::vector<std::string> findings = python_list(csv, row, labels_col);
    for (const auto& entry : kPadChestSynonyms) {
      const std::vector<std::string>& synonyms = entry.second;
      const bool found = std::any_of(findings.begin(), findings.end(), [&](const std::string& f) {
        return std::find(synonyms.begin(), synonyms.end(), f) != synonyms.end();
      });
      item.labels.push_back(found ? 1.0f : 0.0f);
    }
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
