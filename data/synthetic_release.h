// The synthetic dataset (data/synthetic.h) laid out as a public dataset's release: its tables, with
// their columns and value conventions, and its images at the release's paths and in its format,
// so every reader in data/datasets.h, and every command above them, runs without a download.
// The generator's 14 findings are recorded as each release would record them:
//   nih       Data_Entry_2017_v2020.csv (Finding Labels "A|B" or "No Finding", Follow-up #,
//             Patient ID, View Position), train_val_list.txt and test_list.txt (the generator's
//             train+valid and test), BBox_List_2017.csv (the planted boxes of NIH's 8 boxed
//             findings; Infiltration is "Infiltrate" there, as in NIH's), images/*.png.
//   chexpert  CheXpert-v1.0-small/{train,valid}.csv, .../{train,valid}/patientNNNNN/studyK/
//             view1_frontal.jpg (valid: the generator's valid split; train: the rest). Observations:
//             Lung Lesion = Mass or Nodule; Lung Opacity = Consolidation, Infiltration or Pneumonia;
//             Pleural Effusion = Effusion; Pleural Other = Pleural_Thickening; the others of the 14
//             by name; No Finding 1.0 for an image without findings. A positive is 1.0, or -1.0
//             (uncertain) for one in five; a negative is 0.0, or blank (not mentioned) for one in
//             two; Enlarged Cardiomediastinum, Fracture and Support Devices are never mentioned.
//   mimic     mimic-cxr-2.0.0-{chexpert,metadata,split}.csv.gz and files/pXX/pSUBJECT/sSTUDY/
//             DICOM_ID.jpg: one study per image, its observations as CheXpert's, the official split
//             the generator's (train, validate, test).
//   vindr     annotations/image_labels_train.csv (three radiologists' rows per image of the
//             generator's train and valid splits: two give the findings, the third flips one
//             finding in eight, so the majority gives the findings), annotations/
//             image_labels_test.csv (one consensus row per test image), {train,test}/ID.dicom.
//             Nodule/Mass = Mass or Nodule, Lung Opacity as CheXpert's, Pleural effusion,
//             Pleural thickening and Pulmonary fibrosis NIH's; the rest of VinDr's 28 are 0.
//   padchest  PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv and <ImageDir>/<ImageID>,
//             16-bit PNGs; Labels lists one of kPadChestSynonyms' strings per finding, or 'normal'.
//   rsna      stage_2_train_labels.csv (a row per planted Pneumonia or Consolidation box with
//             Target 1; one row with Target 0 and no box for an image without) and
//             stage_2_train_images/PATIENT_ID.dcm.
// Identifiers (subjects, studies, DICOM, image and patient IDs) are made in each release's
// form from the generator's patients; every draw is seeded, so a layout is deterministic.
#pragma once

#include <string>
#include <vector>

#include "data/datasets.h"
#include "data/synthetic.h"

namespace rg::data {

// A label table of a written release and the folder its image paths are relative to: what
// --labels (or --train, --valid) and --images take.
struct ReleaseTable {
  std::string part;    // train, valid, test, or all (a release without a split, or MIMIC's)
  std::string labels;  // the table's path
  std::string images;  // the image folder
};

// Writes the synthetic dataset of `options` into `dir` as `layout`'s release (kNotebook:
// data/synthetic.h's own layout, in options.format; the others in their release's image format).
// Returns the release's label tables.
std::vector<ReleaseTable> write_synthetic_release(const std::string& dir, LabelFormat layout, SyntheticOptions options);

}  // namespace rg::data
