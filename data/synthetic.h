// Synthetic chest X-rays: a seeded generator that writes a dataset in the notebook's format, so
// everything runs — and can be checked — on a machine without the NIH download.
//
// Each image is a frontal "film": dark background, the body's soft tissue, two dark lungs with
// ribs across them, the spine and mediastinum, the heart shadow, and noise. Findings are planted
// as visible patterns at NIH-like prevalences (times `prevalence_scale`):
//   Cardiomegaly   an enlarged heart             Effusion      fluid with a meniscus at a lung base
//   Nodule         a small round opacity         Mass          a larger round opacity
//   Atelectasis    a plate-like band of collapse  Pneumothorax  a dark rim without markings, pleural line
//   Consolidation  a dense patchy cloud          Pneumonia     smaller patchy clouds
//   Infiltration   diffuse streaky haze          Edema         bilateral perihilar haze
//   Emphysema      darker, larger lungs          Fibrosis      a fine net of lines at the bases
//   Pleural_Thickening  a bright band along the chest wall
//   Hernia         a round density behind the heart, above the diaphragm
// Patients own 1..max images with the same anatomy and partly persistent findings, so patient
// leakage exists to be found. The files written into `dir`:
//   images/<patient>_<k>.png   8-bit gray PNGs, size x size; or 16-bit ones; or .jpg JPEGs; or
//   images/<patient>_<k>.dcm   DICOMs of the same gray levels in the layouts of data/dicom.h's
//                              DicomLayout, taken in turn (windowed, MONOCHROME1, rescaled signed)
//   labels.csv                 every image (Image, 14 labels, PatientId)
//   train.csv valid.csv test.csv   a patient-level split of labels.csv
//   boxes.csv                  Image, Finding, x, y, w, h: each planted finding's box in pixels
#pragma once

#include <cstdint>
#include <string>

#include "data/labels.h"
#include "data/leakage.h"

namespace rg::data {

// 8-bit PNG, 16-bit PNG (the gray levels times 257), JPEG (quality 90) or DICOM.
enum class ImageFormat { kPng, kPng16, kJpeg, kDicom };

struct SyntheticOptions {
  int64_t patients = 200;
  int max_images_per_patient = 3;
  int size = 256;  // width = height, pixels
  uint64_t seed = 0;
  double prevalence_scale = 1.0;  // multiplies the NIH prevalences (capped at 0.5)
  SplitOptions split{0.7, 0.15, 0.15};
  ImageFormat format = ImageFormat::kPng;
};

// NIH ChestX-ray14 per-image prevalence of each pathology (kPathologies order), from the
// 112,120-image Data_Entry_2017_v2020.csv.
extern const double kNihPrevalence[14];

struct SyntheticSummary {
  int64_t images = 0, patients = 0;
  LabelTable all;
  Split split;  // train.csv, valid.csv, test.csv
};

// Writes the dataset described above into `dir` (created if needed). Deterministic in the seed.
SyntheticSummary write_synthetic_dataset(const std::string& dir, const SyntheticOptions& options);

}  // namespace rg::data
