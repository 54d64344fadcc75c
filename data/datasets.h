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
//     patient is Path's patientNNNNN folder; the view is AP/PA's value for a frontal image
//     (Frontal when blank), Lateral for a lateral one.
//   MIMIC-CXR-JPG 2.0.0 (mimic-cxr-2.0.0-chexpert.csv.gz): subject_id, study_id and CheXpert's 14
//     observations per study, read as CheXpert's; joined with mimic-cxr-2.0.0-metadata.csv.gz
//     beside it (dicom_id, subject_id, study_id, ViewPosition: the study's images) and, when an
//     official split is asked for, with -split.csv.gz (dicom_id, split: train, validate, test).
//     The image is files/p<first two digits of subject_id>/p<subject_id>/s<study_id>/<dicom_id>.jpg,
//     the patient subject_id, the view ViewPosition; images of studies without labels are left out.
//   VinDr-CXR (image_labels_train.csv, image_labels_test.csv): image_id, rad_id (train only), then
//     0/1 for 22 local and 6 global findings, one row per radiologist in train (three read each
//     image). A finding is positive when more than half of an image's rows say 1 (two of three);
//     the test set's one row per image is the consensus. Mapped: Pleural effusion -> Effusion,
//     Pleural thickening -> Pleural_Thickening, Pulmonary fibrosis -> Fibrosis, Nodule/Mass ->
//     Lung Lesion, Clavicle fracture or Rib fracture -> Fracture; Atelectasis, Cardiomegaly,
//     Consolidation, Edema, Emphysema, Infiltration, Lung Opacity, Pneumonia and Pneumothorax keep
//     their names. The image is <image_id>.dicom; the release has no patient identities, so each
//     image is its own patient.
//   PadChest (PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv): ImageID, ImageDir, PatientID,
//     Projection, Labels: the report's findings as a Python list of strings (['pneumonia',
//     'infiltrates']), mapped by kPadChestSynonyms; every label-space finding not listed is 0. The
//     image is <ImageDir>/<ImageID> (the release's numbered folders), the patient PatientID, the
//     view Projection (PA, AP, L, AP_horizontal, COSTAL).
//   RSNA Pneumonia (stage_2_train_labels.csv): patientId, x, y, width, height, Target, one row
//     per box (several for one image, one with Target 0 for an image without). Target gives both
//     Lung Opacity and Pneumonia (as torchxrayvision maps it); the image is <patientId>.dcm, and
//     patientId, one per image in this release, is the patient.
#pragma once

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "data/csv.h"
#include "data/labels.h"

namespace rg::data {

inline const std::array<std::string, 18> kLabelSpace = {
    "Atelectasis", "Cardiomegaly",       "Consolidation", "Edema",        "Effusion",
    "Emphysema",   "Fibrosis",           "Hernia",        "Infiltration", "Mass",
    "Nodule",      "Pleural_Thickening", "Pneumonia",     "Pneumothorax", "Enlarged Cardiomediastinum",
    "Lung Lesion", "Lung Opacity",       "Fracture"};

// A label's place in kLabelSpace; kLabelSpace.size() for a name outside it.
size_t label_space_rank(const std::string& label);

enum class Uncertain { kIgnore, kOnes, kZeros };  // CheXpert's -1: missing, 1 or 0

// The label file layouts roentgen reads (data/labels.h has the notebook's and NIH's).
enum class LabelFormat { kAuto, kNih, kNotebook, kCheXpert, kMimic, kVinDr, kPadChest, kRsna };

// PadChest's finding strings for each label-space name (lower case, as the release writes them).
extern const std::vector<std::pair<std::string, std::vector<std::string>>> kPadChestSynonyms;

struct LabelOptions {
  LabelFormat format = LabelFormat::kAuto;  // kAuto: from the header
  Uncertain uncertain = Uncertain::kIgnore;
  std::vector<std::string> views;  // keep only images of these views (LabeledImage::view); empty: all
  bool one_per_patient = false;    // keep only each patient's first image, in the file's order
  std::string official_split;      // MIMIC-CXR: train, validate or test; empty: every image
};
// How read_labels reads every table in this process (the CLI's --label-format, --uncertain,
// --views, --one-per-patient and --official-split set it). Set once at start-up, before threads.
LabelOptions& label_options();

// Parse "auto|nih|notebook|chexpert|mimic|vindr|padchest|rsna" and "ignore|ones|zeros"; an unknown name is an error
// listing the known ones.
LabelFormat label_format_from_name(const std::string& name);
Uncertain uncertain_from_name(const std::string& name);

LabelTable read_chexpert(const CsvTable& csv, Uncertain uncertain);
LabelTable read_mimic(const CsvTable& csv, Uncertain uncertain, const std::string& official_split);
LabelTable read_vindr(const CsvTable& csv);
LabelTable read_padchest(const CsvTable& csv);
LabelTable read_rsna(const CsvTable& csv);

}  // namespace rg::data
