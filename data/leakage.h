// Patient-level leakage: the same patient's images on both sides of a train/test boundary let a
// model score well by recognising the patient, not the disease. These functions find it, and
// split datasets so it cannot happen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/csv.h"
#include "data/labels.h"

namespace rg::data {

// The notebook's Exercise 1: true when some value of `column` appears in both tables.
bool check_for_leakage(const CsvTable& a, const CsvTable& b, const std::string& column);

struct LeakageReport {
  std::vector<std::string> shared_patients;  // sorted
  int64_t images_in_a = 0;                   // images of shared patients in a
  int64_t images_in_b = 0;                   // ... and in b
  bool leaked() const { return !shared_patients.empty(); }
};

// Which patients two label tables share (by patient id).
LeakageReport find_leakage(const LabelTable& a, const LabelTable& b);

// The checks before training (roentgen train and the example, through train/session.h): an image
// listed twice in one table, or in both, is an error; so is a patient in both (the notebook's
// leakage, section 2.2), unless allow_patient_overlap, when the same facts come back as a warning
// (empty: nothing to say). Every message names the files, how many, and the first few.
std::string check_training_tables(const LabelTable& train, const LabelTable& valid, bool allow_patient_overlap);

// "a, b, c, d, e and 7 more": the first `shown` items, for messages.
std::string first_few(const std::vector<std::string>& items, size_t shown = 5);

struct SplitOptions {
  double train = 0.8, valid = 0.1, test = 0.1;  // fractions of the images; normalized to sum 1
  uint64_t seed = 0;
  // Put at least one positive of every label into every split that has a nonzero fraction
  // (an error if some label has too few patients to do so).
  bool every_label_in_every_split = false;
};

struct Split {
  LabelTable train, valid, test;
};

// Assigns whole patients to train/valid/test so that the image counts approach the fractions.
// Seeded: the same table and options give the same split. No patient is ever on two sides.
Split split_by_patient(const LabelTable& table, const SplitOptions& options);

}  // namespace rg::data
