// The patient record a model file keeps (models/patient_record.h): SHA-256, membership, the
// metadata round trip, and the warning for scored images of seen patients.
#include <doctest/doctest.h>

#include <string>

#include "models/model_file.h"
#include "models/patient_record.h"
#include "tensor/error.h"

using namespace rg;
using doctest::Contains;

TEST_CASE("sha256_hex matches FIPS 180-4's examples, across block boundaries") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the length no longer fits the first block.
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("a patient record flags the trained and validated patients, nobody else, and nothing under another salt") {
  const PatientRecord r = PatientRecord::of({"17", "3", "17", "42"}, {"8"}, 0);
  CHECK(r.salt.size() == 32);
  CHECK(r.train.size() == 3);  // each patient once
  CHECK(r.trained_on("17"));
  CHECK(r.trained_on("42"));
  CHECK_FALSE(r.trained_on("8"));
  CHECK(r.validated_on("8"));
  for (const char* other : {"1", "170", "4", ""}) {
    CHECK_FALSE(r.trained_on(other));
    CHECK_FALSE(r.validated_on(other));
  }
  CHECK(r.hash("17") == sha256_hex(r.salt + ":17").substr(0, 16));
  // The same run, the same salt; another seed or other patients, another.
  CHECK(PatientRecord::of({"17", "3", "17", "42"}, {"8"}, 0).salt == r.salt);
  CHECK(PatientRecord::of({"17", "3", "17", "42"}, {"8"}, 1).salt != r.salt);
  CHECK(PatientRecord::of({"17", "3", "42"}, {"8"}, 0).salt != r.salt);
  PatientRecord wrong = r;
  wrong.salt = std::string(32, '0');
  for (const char* id : {"17", "3", "42", "8"}) {
    CHECK_FALSE(wrong.trained_on(id));
    CHECK_FALSE(wrong.validated_on(id));
  }
  CHECK_FALSE(PatientRecord{}.trained_on("17"));
}

TEST_CASE("the patient record travels in the model file's metadata, checked when read") {
  ModelInfo info{.labels = {"a", "b"}, .image_size = 64};
  CHECK(ModelInfo::from_metadata(info.to_metadata(), "m").patients.empty());  // none written, none read back
  info.patients = PatientRecord::of({"1", "2", "3"}, {"9", "10"}, 7);
  const auto metadata = info.to_metadata();
  CHECK(metadata.at("patients_train").size() == 3 * 16);
  const ModelInfo back = ModelInfo::from_metadata(metadata, "m");
  CHECK(back.patients.salt == info.patients.salt);
  CHECK(back.patients.train == info.patients.train);
  CHECK(back.patients.valid == info.patients.valid);
  CHECK(back.patients.trained_on("2"));
  auto bad = metadata;
  bad["patients_train"] = metadata.at("patients_train").substr(0, 20);
  CHECK_THROWS_WITH_AS(
      ModelInfo::from_metadata(bad, "m.safetensors"),
      Contains("m.safetensors: metadata patients_train: expected lowercase hex digits in groups of 16"), Error);
  bad = metadata;
  bad.erase("patients_valid");
  CHECK_THROWS_WITH_AS(ModelInfo::from_metadata(bad, "m.safetensors"),
                       Contains("has patients_salt but no patients_valid"), Error);
}

TEST_CASE("scoring images of seen patients is named: how many, trained or validated, the first few") {
  const PatientRecord r = PatientRecord::of({"1", "2"}, {"3"}, 0);
  data::LabelTable t{
      "test.csv", {"x"}, {{"a.png", {0}, "1"}, {"b.png", {0}, "1"}, {"c.png", {0}, "3"}, {"d.png", {0}, "4"}}};
  const std::string w = seen_patients_warning(r, t);
  CHECK(w.find("3 of the 4 images in test.csv belong to 2 patients the model has seen") != std::string::npos);
  CHECK(w.find("2 trained on (a.png, b.png); 1 validated on (c.png)") != std::string::npos);
  t.images = {{"d.png", {0}, "4"}, {"e.png", {0}, ""}};
  CHECK(seen_patients_warning(r, t).empty());
  CHECK(seen_patients_warning(PatientRecord{}, t).empty());
}
