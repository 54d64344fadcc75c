// The patients a model was trained and validated on, kept in its file as salted hashes
// (models/model_file.h: ModelInfo::patients), so that scoring images of those patients later —
// a leak the notebook's section 2.2 warns about — can be noticed (roentgen predict, eval and the
// example's test section warn).
//
// What it reveals: not a list of IDs, but anyone who holds the file and a candidate ID can test
// whether that patient was used, and IDs from a small range (NIH's run from 1 to 30805) can all
// be tried. `roentgen train --no-patient-record` leaves the record out.
//
//   record = PatientRecord::of(train_ids, valid_ids, seed);
//   record.salt     = the first 128 bits of SHA-256 of the seed and every ID: the same run writes
//                     the same file (reproducible), another seed or other patients another salt
//   record.hash(id) = the first 64 bits of SHA-256(salt + ":" + id), 16 hex digits
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/labels.h"

namespace rg {

struct PatientRecord {
  std::string salt;                       // 32 hex digits; empty: no record
  std::vector<std::string> train, valid;  // the hashes of the patients' IDs, sorted, each once

  static PatientRecord of(const std::vector<std::string>& train_ids, const std::vector<std::string>& valid_ids,
                          uint64_t seed);
  bool empty() const { return salt.empty(); }
  std::string hash(const std::string& patient_id) const;
  bool trained_on(const std::string& patient_id) const;
  bool validated_on(const std::string& patient_id) const;
};

// What scoring `table` with a model of this record should say: how many of its images belong to
// patients the model was trained or validated on, with the first few; empty when none (and for a
// model without a record, or a table without patient IDs).
std::string seen_patients_warning(const PatientRecord& record, const data::LabelTable& table);

// SHA-256 of `bytes` as 64 hex digits (FIPS 180-4).
std::string sha256_hex(const std::string& bytes);

}  // namespace rg
