// Patient leakage checks and the patient-level splitter.
#include <doctest/doctest.h>

#include <set>

#include "data/leakage.h"
#include "data_helpers.h"
#include "tensor/error.h"

using namespace rg;
using namespace rg::data;

namespace {

// n patients; patient p has 1 + p % 3 images; label 0 on every 4th patient, label 1 on patient 5 and 17.
LabelTable patients_table(int n) {
  LabelTable t;
  t.source = "made-up";
  t.label_names = {"Common", "Rare"};
  for (int p = 0; p < n; ++p)
    for (int k = 0; k <= p % 3; ++k)
      t.images.push_back({std::to_string(p) + "_" + std::to_string(k) + ".png",
                          {p % 4 == 0 ? 1.0f : 0.0f, (p == 5 || p == 17) ? 1.0f : 0.0f},
                          std::to_string(p)});
  return t;
}

std::set<std::string> patients_of(const LabelTable& t) {
  std::set<std::string> s;
  for (const auto& item : t.images) s.insert(item.patient_id);
  return s;
}

}  // namespace

TEST_CASE("check_for_leakage: the notebook's two test cases") {
  const CsvTable df1 = parse_csv("patient_id\n0\n1\n2\n", "df1");
  CHECK(check_for_leakage(df1, parse_csv("patient_id\n2\n3\n4\n", "df2"), "patient_id") == true);
  CHECK(check_for_leakage(df1, parse_csv("patient_id\n3\n4\n5\n", "df2"), "patient_id") == false);
  CHECK_THROWS_WITH_AS(check_for_leakage(df1, df1, "PatientId"),
                       doctest::Contains("df1: no column 'PatientId' (columns: patient_id)"), Error);
}

TEST_CASE("find_leakage reports the shared patients and their images") {
  LabelTable a = patients_table(6), b = patients_table(0);
  b.label_names = a.label_names;
  b.images = {a.images[0], a.images.back(), {"new.png", {0, 0}, "99"}};
  const LeakageReport r = find_leakage(a, b);
  CHECK(r.leaked());
  CHECK(r.shared_patients == std::vector<std::string>{"0", "5"});
  CHECK(r.images_in_a == 1 + 3);
  CHECK(r.images_in_b == 2);
}

TEST_CASE("real data: the NIH sample's train, valid and test sets share no patient") {
  if (test::skip_without_shared_data()) return;
  const std::string dir = test::shared_data_dir() + "/nih-sample/";
  const CsvTable train = read_csv(dir + "train-small.csv"), valid = read_csv(dir + "valid-small.csv"),
                 test_set = read_csv(dir + "test.csv");
  CHECK_FALSE(check_for_leakage(train, valid, "PatientId"));
  CHECK_FALSE(check_for_leakage(train, test_set, "PatientId"));
  CHECK_FALSE(check_for_leakage(valid, test_set, "PatientId"));
}

TEST_CASE("split_by_patient never puts a patient on two sides, follows the fractions, and is seeded") {
  const LabelTable t = patients_table(300);
  const Split s = split_by_patient(t, {.train = 0.7, .valid = 0.2, .test = 0.1, .seed = 3});
  CHECK(s.train.size() + s.valid.size() + s.test.size() == t.size());
  CHECK_FALSE(find_leakage(s.train, s.valid).leaked());
  CHECK_FALSE(find_leakage(s.train, s.test).leaked());
  CHECK_FALSE(find_leakage(s.valid, s.test).leaked());
  CHECK(double(s.train.size()) / double(t.size()) == doctest::Approx(0.7).epsilon(0.03));
  CHECK(double(s.valid.size()) / double(t.size()) == doctest::Approx(0.2).epsilon(0.1));
  CHECK(patients_of(s.train).size() + patients_of(s.valid).size() + patients_of(s.test).size() == 300);

  const Split again = split_by_patient(t, {.train = 0.7, .valid = 0.2, .test = 0.1, .seed = 3});
  CHECK(patients_of(again.test) == patients_of(s.test));
  const Split other = split_by_patient(t, {.train = 0.7, .valid = 0.2, .test = 0.1, .seed = 4});
  CHECK(patients_of(other.test) != patients_of(s.test));
}

TEST_CASE("split_by_patient can keep every label in every split, and says when it cannot") {
  const LabelTable t = patients_table(40);  // "Rare" only on patients 5 and 17
  for (uint64_t seed = 0; seed < 10; ++seed) {
    const Split s = split_by_patient(
        t, {.train = 0.5, .valid = 0.5, .test = 0.0, .seed = seed, .every_label_in_every_split = true});
    CHECK(s.train.positives()[1] >= 1);
    CHECK(s.valid.positives()[1] >= 1);
    CHECK(s.test.size() == 0);
    CHECK_FALSE(find_leakage(s.train, s.valid).leaked());
  }
  CHECK_THROWS_WITH_AS(
      split_by_patient(t, {.train = 0.4, .valid = 0.3, .test = 0.3, .every_label_in_every_split = true}),
      doctest::Contains("label 'Rare' has too few patients (6 positive images) to appear in every split"), Error);
}

TEST_CASE("check_training_tables: shared patients stop training unless allowed; shared or repeated images always") {
  LabelTable train = patients_table(12), valid = train;
  train.source = "train.csv";
  valid.source = "valid.csv";
  // The same file twice: every image in both, whatever is allowed.
  for (bool allow : {false, true})
    CHECK_THROWS_WITH_AS(
        check_training_tables(train, valid, allow),
        doctest::Contains("24 images are in both train.csv and valid.csv: 0_0.png, 1_0.png, 1_1.png, 2_0.png, "
                          "2_1.png and 19 more"),
        Error);
  // Patients 0-9 train, 10 and 11 validate: no overlap.
  valid.images.clear();
  while (train.images.back().patient_id == "11" || train.images.back().patient_id == "10") {
    valid.images.insert(valid.images.begin(), train.images.back());
    train.images.pop_back();
  }
  CHECK(check_training_tables(train, valid, false).empty());
  // One patient on both sides through different images: patient 11's first image in training.
  LabelTable leaky = train;
  leaky.images.push_back(valid.images.back());
  valid.images.pop_back();
  CHECK_THROWS_WITH_AS(
      check_training_tables(leaky, valid, false),
      doctest::Contains("train.csv and valid.csv share 1 patient (11; 1 training and 2 validation images)"), Error);
  CHECK_THROWS_WITH_AS(check_training_tables(leaky, valid, false), doctest::Contains("pass --allow-patient-overlap"),
                       Error);
  const std::string warning = check_training_tables(leaky, valid, true);
  CHECK(warning.find("share 1 patient (11;") != std::string::npos);
  // An image listed twice in one table.
  leaky.images.push_back(leaky.images.front());
  CHECK_THROWS_WITH_AS(check_training_tables(leaky, valid, true),
                       doctest::Contains("train.csv lists 1 image more than once: 0_0.png"), Error);
}
