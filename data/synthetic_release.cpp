#include "data/synthetic_release.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "data/csv.h"
#include "tensor/error.h"
#include "tensor/io.h"
#include "tensor/random.h"

namespace rg::data {
namespace {

namespace fs = std::filesystem;

// The generator's dataset, written into a staging folder inside the release's (removed at the
// end), and what every layout asks of it.
class Generated {
 public:
  Generated(const std::string& dir, SyntheticOptions options, ImageFormat format)
      : dir_(dir), staging_(dir_ / ".generator"), seed_(options.seed), size_(options.size) {
    options.format = format;
    summary_ = write_synthetic_dataset(staging_.string(), options);
    for (const auto& [part, table] :
         {std::pair{"train", &summary_.split.train}, {"valid", &summary_.split.valid}, {"test", &summary_.split.test}})
      for (const LabeledImage& image : table->images) part_of_[image.image] = part;
    const CsvTable boxes = read_csv((staging_ / "boxes.csv").string());
    for (const CsvRow& row : boxes.rows) boxes_.emplace(row.fields[0], row.fields);
  }
  ~Generated() {
    std::error_code ignored;
    fs::remove_all(staging_, ignored);
  }
  Generated(const Generated&) = delete;
  Generated& operator=(const Generated&) = delete;

  const fs::path& dir() const { return dir_; }
  int size() const { return size_; }  // each image's width and height
  const std::vector<LabeledImage>& images() const { return summary_.all.images; }
  // train, valid or test: the generator's patient-level split.
  const std::string& part(const LabeledImage& image) const { return part_of_.at(image.image); }
  // The planted boxes on an image: (Image, Finding, x, y, w, h) rows of the generator's boxes.csv.
  auto boxes(const LabeledImage& image) const { return boxes_.equal_range(image.image); }

  bool has(const LabeledImage& image, const std::string& finding) const {
    const auto at = std::find(kPathologies.begin(), kPathologies.end(), finding);
    RG_CHECK(at != kPathologies.end(), "synthetic release: no finding '", finding, "'");
    return image.labels[at - kPathologies.begin()] == 1.0f;
  }
  bool has_any(const LabeledImage& image, const std::vector<std::string>& findings) const {
    return std::any_of(findings.begin(), findings.end(), [&](const std::string& f) { return has(image, f); });
  }
  bool healthy(const LabeledImage& image) const {
    return std::none_of(image.labels.begin(), image.labels.end(), [](float v) { return v == 1.0f; });
  }

  // Seeded draws: the k-th for image i, and one per patient.
  uint64_t draw(size_t i, uint64_t k) const { return Generator(seed_ ^ 0x5EEDull).bits(i * 64 + k); }
  uint64_t patient_draw(const LabeledImage& image) const {
    return Generator(seed_ ^ 0xFACEull).bits(std::stoull(image.patient_id));
  }
  // The patient's visit of an image, 0, 1, ...: its name is <patient>_<visit>.<extension>.
  static int visit(const LabeledImage& image) { return std::stoi(image.image.substr(9, 3)); }
  // PA for three images in four, AP for the others.
  std::string view(size_t i) const { return draw(i, 0) % 4 == 0 ? "AP" : "PA"; }

  // Moves an image from the staging folder to `to`, relative to the release's folder.
  void move(const LabeledImage& image, const fs::path& to) const {
    fs::create_directories((dir_ / to).parent_path());
    fs::rename(staging_ / "images" / image.image, dir_ / to);
  }
  // Writes a table (or list) of the release, atomically.
  void write(const fs::path& to, const std::string& text) const {
    fs::create_directories((dir_ / to).parent_path());
    write_file_atomic((dir_ / to).string(), to.extension() == ".gz" ? gzip(text) : text);
  }

 private:
  fs::path dir_, staging_;
  uint64_t seed_;
  int size_;
  SyntheticSummary summary_;
  std::map<std::string, std::string> part_of_;
  std::multimap<std::string, std::vector<std::string>> boxes_;
};

// `digits` lower-case hex digits (at most 16) of `bits`.
std::string hex(uint64_t bits, int digits) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(bits));
  return std::string(buffer + 16 - digits);
}

// The release's findings that are some of the generator's: (the release's name, NIH's findings).
using FromNih = std::vector<std::pair<std::string, std::vector<std::string>>>;
const std::vector<std::string> kOpacities = {"Consolidation", "Infiltration", "Pneumonia"};

// ---- NIH ChestX-ray14 ----

std::vector<ReleaseTable> nih(const Generated& g) {
  const std::vector<std::string> boxed = {"Atelectasis", "Cardiomegaly", "Effusion",  "Infiltration",
                                          "Mass",        "Nodule",       "Pneumonia", "Pneumothorax"};
  std::string entries =
      "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
      "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]\n";
  std::string boxes = "Image Index,Finding Label,Bbox [x,y,w,h],,,\n", train_val, test;
  for (size_t i = 0; i < g.images().size(); ++i) {
    const LabeledImage& image = g.images()[i];
    g.move(image, fs::path("images") / image.image);
    std::string findings;
    for (size_t k = 0; k < kPathologies.size(); ++k)
      if (image.labels[k] == 1.0f) findings += (findings.empty() ? "" : "|") + kPathologies[k];
    const uint64_t patient = g.patient_draw(image);
    const std::string size = std::to_string(g.size());
    entries += csv_line({image.image, findings.empty() ? "No Finding" : findings,
                         std::to_string(Generated::visit(image)), image.patient_id, std::to_string(20 + patient % 70),
                         patient & 64 ? "F" : "M", g.view(i), size, size, "0.143", "0.143"});
    const auto [first, last] = g.boxes(image);
    for (auto box = first; box != last; ++box) {
      const std::string& finding = box->second[1];
      if (std::find(boxed.begin(), boxed.end(), finding) == boxed.end()) continue;
      boxes += csv_line({image.image, finding == "Infiltration" ? "Infiltrate" : finding, box->second[2],
                         box->second[3], box->second[4], box->second[5]});
    }
    (g.part(image) == "test" ? test : train_val) += image.image + "\n";
  }
  g.write("Data_Entry_2017_v2020.csv", entries);
  g.write("BBox_List_2017.csv", boxes);
  g.write("train_val_list.txt", train_val);
  g.write("test_list.txt", test);
  return {{"all", (g.dir() / "Data_Entry_2017_v2020.csv").string(), (g.dir() / "images").string()}};
}

// ---- CheXpert and MIMIC-CXR: the CheXpert labeler's 14 observations ----

const FromNih kCheXpertFromNih = {{"Cardiomegaly", {"Cardiomegaly"}},   {"Lung Opacity", kOpacities},
                                  {"Lung Lesion", {"Mass", "Nodule"}},  {"Edema", {"Edema"}},
                                  {"Consolidation", {"Consolidation"}}, {"Pneumonia", {"Pneumonia"}},
                                  {"Atelectasis", {"Atelectasis"}},     {"Pneumothorax", {"Pneumothorax"}},
                                  {"Pleural Effusion", {"Effusion"}},   {"Pleural Other", {"Pleural_Thickening"}}};

// Image i's observations as the labeler writes them, by name (a std::map: in MIMIC's column
// order, which is alphabetical).
std::map<std::string, std::string> chexpert_observations(const Generated& g, size_t i) {
  const LabeledImage& image = g.images()[i];
  std::map<std::string, std::string> values = {{"No Finding", g.healthy(image) ? "1.0" : ""},
                                               {"Enlarged Cardiomediastinum", ""},
                                               {"Fracture", ""},
                                               {"Support Devices", ""}};
  uint64_t k = 1;
  for (const auto& [observation, findings] : kCheXpertFromNih) {
    const uint64_t d = g.draw(i, k++);
    values[observation] = g.has_any(image, findings) ? (d % 5 == 0 ? "-1.0" : "1.0") : (d % 2 == 0 ? "" : "0.0");
  }
  return values;
}

std::vector<ReleaseTable> chexpert(const Generated& g) {
  const std::vector<std::string> observations = {"No Finding",       "Enlarged Cardiomediastinum",
                                                 "Cardiomegaly",     "Lung Opacity",
                                                 "Lung Lesion",      "Edema",
                                                 "Consolidation",    "Pneumonia",
                                                 "Atelectasis",      "Pneumothorax",
                                                 "Pleural Effusion", "Pleural Other",
                                                 "Fracture",         "Support Devices"};
  std::vector<std::string> header = {"Path", "Sex", "Age", "Frontal/Lateral", "AP/PA"};
  header.insert(header.end(), observations.begin(), observations.end());
  std::map<std::string, std::string> tables = {{"train", csv_line(header)}, {"valid", csv_line(header)}};
  const fs::path release = "CheXpert-v1.0-small";
  for (size_t i = 0; i < g.images().size(); ++i) {
    const LabeledImage& image = g.images()[i];
    const std::string part = g.part(image) == "valid" ? "valid" : "train";
    char path[96];
    std::snprintf(path, sizeof(path), "%s/patient%05d/study%d/view1_frontal.jpg", part.c_str(),
                  std::stoi(image.patient_id), Generated::visit(image) + 1);
    g.move(image, release / path);
    const uint64_t patient = g.patient_draw(image);
    std::vector<std::string> row = {(release / path).string(), patient & 64 ? "Female" : "Male",
                                    std::to_string(20 + patient % 70), "Frontal", g.view(i)};
    const auto values = chexpert_observations(g, i);
    for (const std::string& observation : observations) row.push_back(values.at(observation));
    tables[part] += csv_line(row);
  }
  std::vector<ReleaseTable> written;
  for (const auto& [part, text] : tables) {
    g.write(release / (part + ".csv"), text);
    written.push_back({part, (g.dir() / release / (part + ".csv")).string(), (g.dir() / release).string()});
  }
  return written;
}

std::vector<ReleaseTable> mimic(const Generated& g) {
  std::vector<std::string> header = {"subject_id", "study_id"};
  for (const auto& [observation, value] : chexpert_observations(g, 0)) header.push_back(observation);
  std::string labels = csv_line(header);
  std::string metadata =
      csv_line({"dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition", "Rows",
                "Columns", "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning",
                "ViewCodeSequence_CodeMeaning", "PatientOrientationCodeSequence_CodeMeaning"});
  std::string split = csv_line({"dicom_id", "study_id", "subject_id", "split"});
  const std::map<std::string, std::string> official = {{"train", "train"}, {"valid", "validate"}, {"test", "test"}};
  for (size_t i = 0; i < g.images().size(); ++i) {
    const LabeledImage& image = g.images()[i];
    const std::string subject = std::to_string(10000000 + std::stoll(image.patient_id));
    const std::string study = std::to_string(50000000 + i);
    std::string dicom_id;
    for (int k = 0; k < 5; ++k) dicom_id += (k ? "-" : "") + hex(g.draw(i, 40 + k), 8);
    g.move(image, "files/p" + subject.substr(0, 2) + "/p" + subject + "/s" + study + "/" + dicom_id + ".jpg");
    std::vector<std::string> row = {subject, study};
    for (const auto& [observation, value] : chexpert_observations(g, i)) row.push_back(value);
    labels += csv_line(row);
    const std::string view = g.view(i), size = std::to_string(g.size());
    metadata += csv_line({dicom_id, subject, study, "CHEST (PA AND LAT)", view, size, size, "21800506", "213014.531",
                          "CHEST (PA AND LAT)", view == "PA" ? "postero-anterior" : "antero-posterior", "Erect"});
    split += csv_line({dicom_id, study, subject, official.at(g.part(image))});
  }
  g.write("mimic-cxr-2.0.0-chexpert.csv.gz", labels);
  g.write("mimic-cxr-2.0.0-metadata.csv.gz", metadata);
  g.write("mimic-cxr-2.0.0-split.csv.gz", split);
  return {{"all", (g.dir() / "mimic-cxr-2.0.0-chexpert.csv.gz").string(), g.dir().string()}};
}

// ---- VinDr-CXR ----

const std::vector<std::string> kVinDrColumns = {"Aortic enlargement",
                                                "Atelectasis",
                                                "Calcification",
                                                "Cardiomegaly",
                                                "Clavicle fracture",
                                                "Consolidation",
                                                "Edema",
                                                "Emphysema",
                                                "Enlarged PA",
                                                "ILD",
                                                "Infiltration",
                                                "Lung Opacity",
                                                "Lung cavity",
                                                "Lung cyst",
                                                "Mediastinal shift",
                                                "Nodule/Mass",
                                                "Pleural effusion",
                                                "Pleural thickening",
                                                "Pneumothorax",
                                                "Pulmonary fibrosis",
                                                "Rib fracture",
                                                "Other lesion",
                                                "COPD",
                                                "Lung tumor",
                                                "Pneumonia",
                                                "Tuberculosis",
                                                "Other disease",
                                                "No finding"};
const FromNih kVinDrFromNih = {{"Atelectasis", {"Atelectasis"}},     {"Cardiomegaly", {"Cardiomegaly"}},
                               {"Consolidation", {"Consolidation"}}, {"Edema", {"Edema"}},
                               {"Emphysema", {"Emphysema"}},         {"Infiltration", {"Infiltration"}},
                               {"Lung Opacity", kOpacities},         {"Nodule/Mass", {"Mass", "Nodule"}},
                               {"Pleural effusion", {"Effusion"}},   {"Pleural thickening", {"Pleural_Thickening"}},
                               {"Pneumothorax", {"Pneumothorax"}},   {"Pulmonary fibrosis", {"Fibrosis"}},
                               {"Pneumonia", {"Pneumonia"}}};

// A radiologist's 0/1 per VinDr finding (No finding last); `flip` draws which ones the reader
// gets wrong, or is null for a reader who gets none wrong.
std::vector<std::string> vindr_reading(const Generated& g, size_t i, uint64_t flip) {
  const LabeledImage& image = g.images()[i];
  std::vector<std::string> values;
  bool any = false;
  for (size_t c = 0; c + 1 < kVinDrColumns.size(); ++c) {
    const auto mapped = std::find_if(kVinDrFromNih.begin(), kVinDrFromNih.end(),
                                     [&](const auto& m) { return m.first == kVinDrColumns[c]; });
    bool positive = mapped != kVinDrFromNih.end() && g.has_any(image, mapped->second);
    if (flip && g.draw(i, flip + c) % 8 == 0) positive = !positive;
    any = any || positive;
    values.push_back(positive ? "1" : "0");
  }
  values.push_back(any ? "0" : "1");
  return values;
}

std::vector<ReleaseTable> vindr(const Generated& g) {
  std::vector<std::string> header = kVinDrColumns;
  header.insert(header.begin(), "image_id");
  std::string test = csv_line(header);
  header.insert(header.begin() + 1, "rad_id");
  std::string train = csv_line(header);
  for (size_t i = 0; i < g.images().size(); ++i) {
    const LabeledImage& image = g.images()[i];
    const std::string id = hex(g.draw(i, 40), 16) + hex(g.draw(i, 41), 16);
    const bool in_test = g.part(image) == "test";
    g.move(image, fs::path(in_test ? "test" : "train") / (id + ".dicom"));
    if (in_test) {
      std::vector<std::string> row = vindr_reading(g, i, 0);
      row.insert(row.begin(), id);
      test += csv_line(row);
      continue;
    }
    const uint64_t first_reader = g.draw(i, 42) % 15 + 1;  // of VinDr's 17 radiologists, R1..R17
    for (uint64_t r = 0; r < 3; ++r) {
      std::vector<std::string> row = vindr_reading(g, i, r == 2 ? 100 : 0);
      row.insert(row.begin(), {id, "R" + std::to_string(first_reader + r)});
      train += csv_line(row);
    }
  }
  g.write("annotations/image_labels_train.csv", train);
  g.write("annotations/image_labels_test.csv", test);
  return {{"train", (g.dir() / "annotations/image_labels_train.csv").string(), (g.dir() / "train").string()},
          {"test", (g.dir() / "annotations/image_labels_test.csv").string(), (g.dir() / "test").string()}};
}

// ---- PadChest ----

std::vector<ReleaseTable> padchest(const Generated& g) {
  const std::string name = "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv";
  std::string table = csv_line({"ImageID", "ImageDir", "StudyDate_DICOM", "StudyID", "PatientID", "PatientBirth",
                                "PatientSex_DICOM", "ViewPosition_DICOM", "Projection", "MethodProjection", "Labels"});
  for (size_t i = 0; i < g.images().size(); ++i) {
    const LabeledImage& image = g.images()[i];
    const std::string id = hex(g.draw(i, 40), 16) + hex(g.draw(i, 41), 16) + ".png", folder = std::to_string(i % 4);
    g.move(image, fs::path(folder) / id);
    std::string labels;
    uint64_t k = 50;
    for (const auto& [finding, synonyms] : kPadChestSynonyms) {
      const auto nih = std::find(kPathologies.begin(), kPathologies.end(), finding);
      if (nih == kPathologies.end() || !g.has(image, finding)) continue;
      labels += (labels.empty() ? "'" : ", '") + synonyms[g.draw(i, k++) % synonyms.size()] + "'";
    }
    const uint64_t patient = g.patient_draw(image);
    const std::string view = g.view(i);
    table += csv_line({id, folder, "2015" + std::to_string(1001 + Generated::visit(image)), hex(g.draw(i, 43), 16),
                       hex(patient, 16), std::to_string(1930 + patient % 60), patient & 64 ? "F" : "M",
                       view == "PA" ? "POSTEROANTERIOR" : "ANTEROPOSTERIOR", view, "Manual review of DICOM fields",
                       "[" + (labels.empty() ? "'normal'" : labels) + "]"});
  }
  g.write(name, table);
  return {{"all", (g.dir() / name).string(), g.dir().string()}};
}

// ---- RSNA Pneumonia ----

std::vector<ReleaseTable> rsna(const Generated& g) {
  std::string table = csv_line({"patientId", "x", "y", "width", "height", "Target"});
  for (size_t i = 0; i < g.images().size(); ++i) {
    const LabeledImage& image = g.images()[i];
    const std::string id = hex(g.draw(i, 40), 8) + "-" + hex(g.draw(i, 41), 4) + "-" + hex(g.draw(i, 42), 4) + "-" +
                           hex(g.draw(i, 43), 4) + "-" + hex(g.draw(i, 44), 12);
    g.move(image, fs::path("stage_2_train_images") / (id + ".dcm"));
    bool boxed = false;
    const auto [first, last] = g.boxes(image);
    for (auto box = first; box != last; ++box) {
      if (box->second[1] != "Pneumonia" && box->second[1] != "Consolidation") continue;
      table += csv_line({id, box->second[2], box->second[3], box->second[4], box->second[5], "1"});
      boxed = true;
    }
    if (!boxed) table += csv_line({id, "", "", "", "", "0"});
  }
  g.write("stage_2_train_labels.csv", table);
  return {{"all", (g.dir() / "stage_2_train_labels.csv").string(), (g.dir() / "stage_2_train_images").string()}};
}

}  // namespace

std::vector<ReleaseTable> write_synthetic_release(const std::string& dir, LabelFormat layout,
                                                  SyntheticOptions options) {
  namespace fs = std::filesystem;
  switch (layout) {
    case LabelFormat::kNotebook: {
      write_synthetic_dataset(dir, options);
      std::vector<ReleaseTable> written;
      for (const char* part : {"train", "valid", "test"})
        written.push_back(
            {part, (fs::path(dir) / (std::string(part) + ".csv")).string(), (fs::path(dir) / "images").string()});
      return written;
    }
    case LabelFormat::kNih: return nih(Generated(dir, options, ImageFormat::kPng));
    case LabelFormat::kCheXpert: return chexpert(Generated(dir, options, ImageFormat::kJpeg));
    case LabelFormat::kMimic: return mimic(Generated(dir, options, ImageFormat::kJpeg));
    case LabelFormat::kVinDr: return vindr(Generated(dir, options, ImageFormat::kDicom));
    case LabelFormat::kPadChest: return padchest(Generated(dir, options, ImageFormat::kPng16));
    case LabelFormat::kRsna: return rsna(Generated(dir, options, ImageFormat::kDicom));
    case LabelFormat::kAuto: break;
  }
  throw Error("synthetic: a layout is notebook, nih, chexpert, mimic, vindr, padchest or rsna");
}

}  // namespace rg::data
