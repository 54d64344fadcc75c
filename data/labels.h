// Label files: which image shows which findings, and whose image it is.
//
// Two formats are read here, told apart by their header (the public datasets' are in data/datasets.h):
//  - the notebook's:  Image, <label columns...>, PatientId   (labels 0/1, empty for missing; the
//    label columns are all columns but Image and PatientId, in file order)
//  - NIH's release (Data_Entry_2017*.csv): Image Index, Finding Labels ("A|B|C" or
//    "No Finding"), Follow-up #, Patient ID, View Position, ...  mapped onto the 14 pathologies below.
// Either may be gzip-compressed. Every malformed row is an error naming file, line and column.
#pragma once

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace rg::data {

// The 14 ChestX-ray14 pathologies, in the notebook's column order.
inline const std::array<std::string, 14> kPathologies = {
    "Atelectasis", "Cardiomegaly", "Consolidation", "Edema",  "Effusion",           "Emphysema", "Fibrosis",
    "Hernia",      "Infiltration", "Mass",          "Nodule", "Pleural_Thickening", "Pneumonia", "Pneumothorax"};

// A label not annotated for an image (or uncertain, and ignored): it counts in no loss, frequency
// or metric (losses/known_labels.h).
inline const float kMissing = std::nanf("");

struct LabeledImage {
  std::string image;          // file name, relative to the dataset's image folder
  std::vector<float> labels;  // one 1, 0 or kMissing per label name
  std::string patient_id;
  std::string view;  // PA, AP, Lateral, ... where the table says (NIH, CheXpert, PadChest), else ""
};

struct LabelTable {
  std::string source;                    // the file it came from (for messages)
  std::vector<std::string> label_names;  // column order
  std::vector<LabeledImage> images;

  size_t size() const { return images.size(); }
  // Positive count per label.
  std::vector<int64_t> positives() const;
  // All labels as a [N, L] float32 tensor (row i = images[i]).
  Tensor label_matrix() const;
};

// Reads any format: the two above, or a public dataset's (data/datasets.h), told by the header
// unless label_options() names one; a header that fits several formats is refused.
LabelTable read_labels(const std::string& path);
// The same, from a parsed CSV.
struct CsvTable;
LabelTable parse_labels(const CsvTable& csv);

// A field without its surrounding blanks; a check that each image is on one row only (a second
// would silently replace the first in every later lookup), naming the file and both lines.
std::string trim(const std::string& s);
void check_unique_images(const CsvTable& csv, int image_col);

// Writes the notebook's format (Image, labels..., PatientId), atomically.
void write_labels(const std::string& path, const LabelTable& table);

}  // namespace rg::data
