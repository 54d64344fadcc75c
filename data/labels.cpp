#include "data/labels.h"

#include <cmath>
#include <algorithm>
#include <set>
#include <unordered_map>

#include "data/csv.h"
#include "data/datasets.h"
#include "tensor/io.h"
#include "tensor/error.h"

namespace rg::data {

namespace {

// The image name and patient id of a row; both must be present.
LabeledImage identity(const CsvTable& csv, const CsvRow& row, int image_col, int patient_col) {
  LabeledImage item;
  item.image = trim(row.fields[image_col]);
  item.patient_id = trim(row.fields[patient_col]);
  RG_CHECK(!item.image.empty(), csv.where(row, image_col), ": missing image name");
  RG_CHECK(!item.patient_id.empty(), csv.where(row, patient_col), ": missing patient id");
  return item;
}

LabelTable read_notebook_format(const CsvTable& csv) {
  LabelTable table;
  table.source = csv.path;
  const int image_col = csv.require_column("Image"), patient_col = csv.require_column("PatientId");
  std::vector<int> label_cols;
  for (int c = 0; c < int(csv.header.size()); ++c)
    if (c != image_col && c != patient_col) {
      label_cols.push_back(c);
      table.label_names.push_back(csv.header[c]);
    }
  RG_CHECK(!label_cols.empty(), csv.path, ": no label columns besides Image and PatientId");
  check_unique_images(csv, image_col);
  for (const CsvRow& row : csv.rows) {
    LabeledImage item = identity(csv, row, image_col, patient_col);
    for (int c : label_cols) {
      const std::string v = trim(row.fields[c]);
      // Accept 0/1, the float spellings pandas writes (0.0/1.0), and empty for missing.
      if (v == "1" || v == "1.0")
        item.labels.push_back(1.0f);
      else if (v == "0" || v == "0.0")
        item.labels.push_back(0.0f);
      else if (v.empty())
        item.labels.push_back(kMissing);
      else
        throw Error(csv.where(row, c) + ": expected a label 0, 1 or empty (missing), found '" + v + "'");
    }
    table.images.push_back(std::move(item));
  }
  return table;
}

LabelTable read_nih_format(const CsvTable& csv) {
  LabelTable table;
  table.source = csv.path;
  table.label_names.assign(kPathologies.begin(), kPathologies.end());
  const int image_col = csv.require_column("Image Index");
  const int findings_col = csv.require_column("Finding Labels");
  const int patient_col = csv.require_column("Patient ID"), view_col = csv.column("View Position");
  check_unique_images(csv, image_col);
  for (const CsvRow& row : csv.rows) {
    LabeledImage item = identity(csv, row, image_col, patient_col);
    if (view_col >= 0) item.view = trim(row.fields[view_col]);
    item.labels.assign(kPathologies.size(), 0.0f);
    const std::string findings = trim(row.fields[findings_col]);
    RG_CHECK(!findings.empty(), csv.where(row, findings_col),
             ": empty (expected findings like "
             "'Effusion|Mass' or 'No Finding')");
    if (findings != "No Finding") {
      size_t start = 0;
      while (start <= findings.size()) {
        const size_t bar = std::min(findings.find('|', start), findings.size());
        const std::string name = trim(findings.substr(start, bar - start));
        size_t k = 0;
        while (k < kPathologies.size() && kPathologies[k] != name) ++k;
        RG_CHECK(k < kPathologies.size(), csv.where(row, findings_col), ": unknown finding '", name,
                 "' (expected one of the 14 ChestX-ray14 pathologies or 'No Finding')");
        item.labels[k] = 1.0f;
        start = bar + 1;
      }
    }
    table.images.push_back(std::move(item));
  }
  return table;
}

}  // namespace

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

void check_unique_images(const CsvTable& csv, int image_col) {
  std::unordered_map<std::string, int> first_line;
  for (const CsvRow& row : csv.rows) {
    const auto [it, fresh] = first_line.emplace(trim(row.fields[image_col]), row.line);
    RG_CHECK(fresh, csv.where(row, image_col), ": image ", it->first, " appears again (first on line ", it->second,
             ")");
  }
}

std::vector<int64_t> LabelTable::positives() const {
  std::vector<int64_t> counts(label_names.size(), 0);
  for (const auto& item : images)
    for (size_t k = 0; k < counts.size(); ++k) counts[k] += item.labels[k] > 0.5f;
  return counts;
}

Tensor LabelTable::label_matrix() const {
  Tensor out = Tensor::empty({int64_t(images.size()), int64_t(label_names.size())});
  float* p = out.data<float>();
  for (const auto& item : images) p = std::copy(item.labels.begin(), item.labels.end(), p);
  return out;
}

LabelTable read_labels(const std::string& path) { return parse_labels(read_csv(path)); }

namespace {
// The formats whose columns the header has.
std::vector<LabelFormat> formats_of(const CsvTable& csv) {
  std::vector<LabelFormat> found;
  if (csv.column("Image") >= 0 && csv.column("PatientId") >= 0) found.push_back(LabelFormat::kNotebook);
  if (csv.column("Image Index") >= 0 && csv.column("Finding Labels") >= 0) found.push_back(LabelFormat::kNih);
  if (csv.column("Path") >= 0 && csv.column("Frontal/Lateral") >= 0) found.push_back(LabelFormat::kCheXpert);
  if (csv.column("subject_id") >= 0 && csv.column("study_id") >= 0 && csv.column("No Finding") >= 0)
    found.push_back(LabelFormat::kMimic);
  if (csv.column("image_id") >= 0 && csv.column("Nodule/Mass") >= 0) found.push_back(LabelFormat::kVinDr);
  if (csv.column("ImageID") >= 0 && csv.column("Labels") >= 0) found.push_back(LabelFormat::kPadChest);
  if (csv.column("patientId") >= 0 && csv.column("Target") >= 0) found.push_back(LabelFormat::kRsna);
  return found;
}
// The images label_options() keeps: those of its views, then the first of each patient.
LabelTable select_images(LabelTable table) {
  const LabelOptions& o = label_options();
  if (!o.views.empty()) {
    RG_CHECK(
        std::any_of(table.images.begin(), table.images.end(), [](const LabeledImage& i) { return !i.view.empty(); }),
        table.source, ": --views needs a view for each image, and this table has none (NIH's View Position, ",
        "CheXpert's Frontal/Lateral and AP/PA, PadChest's Projection give one)");
    std::erase_if(table.images, [&](const LabeledImage& i) {
      return std::find(o.views.begin(), o.views.end(), i.view) == o.views.end();
    });
  }
  if (o.one_per_patient) {
    std::set<std::string> seen;
    std::erase_if(table.images, [&](const LabeledImage& i) { return !seen.insert(i.patient_id).second; });
  }
  return table;
}

}  // namespace

LabelTable parse_labels(const CsvTable& csv) {
  LabelFormat format = label_options().format;
  if (format == LabelFormat::kAuto) {
    const std::vector<LabelFormat> found = formats_of(csv);
    RG_CHECK(!found.empty(), csv.path,
             ": unrecognized label file: expected the notebook's columns (Image, <labels>, PatientId), NIH's "
             "(Image Index, Finding Labels, Patient ID, ...), CheXpert's (Path, Frontal/Lateral, ...), MIMIC-CXR's "
             "(subject_id, study_id, No Finding, ...), VinDr-CXR's "
             "(image_id, ..., Nodule/Mass, ...), PadChest's (ImageID, ..., Labels) or RSNA's (patientId, ..., Target)");
    RG_CHECK(found.size() == 1, csv.path, ": its columns fit ", found.size(),
             " label formats: name one with --label-format (nih, notebook, chexpert, mimic, vindr, padchest, rsna)");
    format = found[0];
  }
  switch (format) {
    case LabelFormat::kNotebook: return select_images(read_notebook_format(csv));
    case LabelFormat::kNih: return select_images(read_nih_format(csv));
    case LabelFormat::kCheXpert: return select_images(read_chexpert(csv, label_options().uncertain));
    case LabelFormat::kMimic:
      return select_images(read_mimic(csv, label_options().uncertain, label_options().official_split));
    case LabelFormat::kVinDr: return select_images(read_vindr(csv));
    case LabelFormat::kPadChest: return select_images(read_padchest(csv));
    default: return select_images(read_rsna(csv));
  }
}

void write_labels(const std::string& path, const LabelTable& table) {
  std::vector<std::string> header{"Image"};
  header.insert(header.end(), table.label_names.begin(), table.label_names.end());
  header.push_back("PatientId");
  std::string text = csv_line(header);
  for (const auto& item : table.images) {
    std::vector<std::string> fields{item.image};
    for (float v : item.labels) fields.push_back(std::isnan(v) ? "" : v > 0.5f ? "1" : "0");
    fields.push_back(item.patient_id);
    text += csv_line(fields);
  }
  write_file_atomic(path, text);
}

}  // namespace rg::data
