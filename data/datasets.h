// The public chest X-ray datasets' label tables, read as their releases lay them out, onto one
// label space (kLabelSpace): NIH ChestX-ray14's 14 pathologies, then the findings the other
// datasets add (torchxrayvision's 18 labels). A dataset's table has the label-space names it
// annotates, in label-space order; an image's label is 1, 0 or missing (data/labels.h).
//
//   CheXpert v1.0 (train.csv, valid.csv): Path, Sex, Age, Frontal/Lateral, AP/PA, then 14
//     observations, each 1.0, 0.0, -1.0 (uncertain) or blank (not mentioned: missing). Mapped:
//     Pleural Effusion -> Effusion; Enlarged Cardiomediastinum, Lung Lesion, Lung Opacity and
//     Fracture keep their names; the other mapped observations share NIH's names; No Finding,
//     Pleural Other and Support Devices are not in the label space. No Finding = 1 sets every
//     mapped observation to 0 (Support Devices is not one of them). Uncertain labels follow
//     `uncertain` (Irvin et al. 2019: U-Ignore, U-Ones, U-Zeros). The image is Path without its
//     first folder (the release's own: CheXpert-v1.0-small/), so --images is that folder; the
//     patient is Path's patientNNNNN folder.
//   RSNA Pneumonia (stage_2_train_labels.csv): patientId, x, y, width, height, Target, one row
//     per box (several for one image, one with Target 0 for an image without). Target gives both
//     Lung Opacity and Pneumonia (as torchxrayvision maps it); the image is <patientId>.dcm, and
//     patientId, one per image in this release, is the patient.
#pragma once

#include <array>
#include <string>

#include "data/csv.h"
#include "data/labels.h"

namespace rg::data {

inline const std::array<std::string, 18> kLabelSpace = {
    "Atelectasis", "Cardiomegaly",       "Consolidation", "Edema",        "Effusion",
    "Emphysema",   "Fibrosis",           "Hernia",        "Infiltration", "Mass",
    "Nodule",      "Pleural_Thickening", "Pneumonia",     "Pneumothorax", "Enlarged Cardiomediastinum",
    "Lung Lesion", "Lung Opacity",       "Fracture"};

enum class Uncertain { kIgnore, kOnes, kZeros };  // CheXpert's -1: missing, 1 or 0

// The label file layouts roentgen reads (data/labels.h has the notebook's and NIH's).
enum class LabelFormat { kAuto, kNih, kNotebook, kCheXpert, kRsna };

struct LabelOptions {
  LabelFormat format = LabelFormat::kAuto;  // kAuto: from the header
  Uncertain uncertain = Uncertain::kIgnore;
};
// How read_labels reads every table in this process (the CLI's --label-format and --uncertain
// set it). Set once at start-up, before threads.
LabelOptions& label_options();

// Parse "auto|nih|notebook|chexpert|rsna" and "ignore|ones|zeros"; an unknown name is an error
// listing the known ones.
LabelFormat label_format_from_name(const std::string& name);
Uncertain uncertain_from_name(const std::string& name);

LabelTable read_chexpert(const CsvTable& csv, Uncertain uncertain);
LabelTable read_rsna(const CsvTable& csv);

}  // namespace rg::data
