// The synthetic dataset laid out as each public release (data/synthetic_release.h), read back by
// the release's own reader: every image where its table says, in the release's format with the
// generator's pixels, and every label the generator's finding as the release records it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "data/datasets.h"
#include "data/image.h"
#include "data/synthetic_release.h"
#include "data_helpers.h"
#include "tensor/error.h"

using namespace rg;
using namespace rg::data;

namespace {

SyntheticOptions small_dataset() {
  SyntheticOptions options;
  options.patients = 12;
  options.size = 32;
  options.seed = 3;
  options.prevalence_scale = 4;  // most findings on some image
  return options;
}

// The generator's own dataset (the notebook's layout): every image in the generator's order.
struct Truth {
  test::TempDir dir;
  LabelTable all;
  std::set<std::string> valid, test;  // the images of the generator's valid and test splits
  Truth() {
    write_synthetic_release(dir.str(), LabelFormat::kNotebook, small_dataset());
    all = read_labels(dir.file("labels.csv"));
    for (const auto& image : read_labels(dir.file("valid.csv")).images) valid.insert(image.image);
    for (const auto& image : read_labels(dir.file("test.csv")).images) test.insert(image.image);
  }
  const std::string& part(const LabeledImage& image) const {
    static const std::string kTrain = "train", kValid = "valid", kTest = "test";
    return valid.count(image.image) ? kValid : test.count(image.image) ? kTest : kTrain;
  }
  bool has(const LabeledImage& image, const std::string& finding) const {
    const auto at = std::find(kPathologies.begin(), kPathologies.end(), finding);
    return at != kPathologies.end() && image.labels[at - kPathologies.begin()] == 1.0f;
  }
  // A label-space label as the header of data/synthetic_release.h maps the generator's findings.
  bool finding(const LabeledImage& image, const std::string& label) const {
    if (label == "Lung Lesion") return has(image, "Mass") || has(image, "Nodule");
    if (label == "Lung Opacity")
      return has(image, "Consolidation") || has(image, "Infiltration") || has(image, "Pneumonia");
    return has(image, label);  // Enlarged Cardiomediastinum, Fracture: never planted
  }
};

// The release's tables, read, one after another; and their images' folders beside each row.
struct Read {
  std::vector<LabeledImage> images;
  std::vector<std::string> folders;
  std::vector<std::string> label_names;
};
Read read_release(const std::vector<ReleaseTable>& tables) {
  Read read;
  for (const ReleaseTable& table : tables) {
    const LabelTable labels = read_labels(table.labels);
    read.label_names = labels.label_names;
    for (const LabeledImage& image : labels.images) {
      read.images.push_back(image);
      read.folders.push_back(table.images);
    }
  }
  return read;
}

// The generator's images in the order a release with these parts lists them: part by part, each
// in the generator's order (`parts` maps a generator split to the release's table).
std::vector<LabeledImage> in_release_order(const Truth& truth, const std::vector<std::vector<std::string>>& parts) {
  std::vector<LabeledImage> ordered;
  for (const auto& part : parts)
    for (const LabeledImage& image : truth.all.images)
      if (std::find(part.begin(), part.end(), truth.part(image)) != part.end()) ordered.push_back(image);
  return ordered;
}

// Every image decodes to the generator's pixels: exactly, or on average within `tolerance` gray
// levels (a JPEG's loss).
void check_pixels(const Truth& truth, const std::vector<LabeledImage>& expected, const Read& read, double tolerance) {
  REQUIRE(read.images.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const GrayImage want = decode_image(truth.dir.file("images/" + expected[i].image));
    const GrayImage got = decode_image((std::filesystem::path(read.folders[i]) / read.images[i].image).string());
    REQUIRE(got.pixels.size() == want.pixels.size());
    double error = 0;
    for (size_t p = 0; p < want.pixels.size(); ++p) error += std::abs(got.pixels[p] - want.pixels[p]);
    CHECK(error / double(want.pixels.size()) <= tolerance);
  }
}

size_t index_of(const std::vector<std::string>& names, const std::string& name) {
  const auto at = std::find(names.begin(), names.end(), name);
  REQUIRE(at != names.end());
  return size_t(at - names.begin());
}

size_t patients(const Read& read) {
  std::set<std::string> ids;
  for (const auto& image : read.images) ids.insert(image.patient_id);
  return ids.size();
}

}  // namespace

TEST_CASE("synthetic releases: NIH's, PadChest's, VinDr's and RSNA's tables give the generator's findings") {
  const Truth truth;
  const auto all = std::vector<std::vector<std::string>>{{"train", "valid", "test"}};

  SUBCASE("nih: the 14 findings, patients and views, PNGs") {
    test::TempDir dir;
    const Read read = read_release(write_synthetic_release(dir.str(), LabelFormat::kNih, small_dataset()));
    const auto expected = in_release_order(truth, all);
    check_pixels(truth, expected, read, 0.0);
    for (size_t i = 0; i < expected.size(); ++i) {
      CHECK(read.images[i].labels == expected[i].labels);
      CHECK(read.images[i].patient_id == expected[i].patient_id);
      CHECK((read.images[i].view == "PA" || read.images[i].view == "AP"));
    }
  }
  SUBCASE("padchest: the synonyms map back; 16-bit PNGs of the same gray levels") {
    test::TempDir dir;
    const Read read = read_release(write_synthetic_release(dir.str(), LabelFormat::kPadChest, small_dataset()));
    const auto expected = in_release_order(truth, all);
    check_pixels(truth, expected, read, 0.0);
    for (size_t i = 0; i < expected.size(); ++i)
      for (size_t k = 0; k < read.label_names.size(); ++k)
        CHECK(read.images[i].labels[k] == float(truth.finding(expected[i], read.label_names[k])));
    CHECK(patients(read) == size_t(small_dataset().patients));
  }
  SUBCASE("vindr: the radiologists' majority; train and test tables; DICOMs") {
    test::TempDir dir;
    const Read read = read_release(write_synthetic_release(dir.str(), LabelFormat::kVinDr, small_dataset()));
    const auto expected = in_release_order(truth, {{"train", "valid"}, {"test"}});
    check_pixels(truth, expected, read, 0.0);
    for (size_t i = 0; i < expected.size(); ++i)
      for (size_t k = 0; k < read.label_names.size(); ++k)
        CHECK(read.images[i].labels[k] == float(truth.finding(expected[i], read.label_names[k])));
    CHECK(patients(read) == expected.size());  // VinDr has no patient identities
  }
  SUBCASE("rsna: Target 1 for a Pneumonia or Consolidation box, one image per patientId") {
    test::TempDir dir;
    const Read read = read_release(write_synthetic_release(dir.str(), LabelFormat::kRsna, small_dataset()));
    const auto expected = in_release_order(truth, all);
    check_pixels(truth, expected, read, 0.0);
    int positives = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      const bool target = truth.has(expected[i], "Pneumonia") || truth.has(expected[i], "Consolidation");
      CHECK(read.images[i].labels == std::vector<float>(2, float(target)));
      positives += target;
    }
    CHECK(positives > 0);
  }
}

TEST_CASE("synthetic releases: CheXpert's and MIMIC-CXR's observations, uncertain and not mentioned") {
  const Truth truth;
  for (const LabelFormat layout : {LabelFormat::kCheXpert, LabelFormat::kMimic}) {
    CAPTURE(int(layout));
    test::TempDir dir;
    const auto tables = write_synthetic_release(dir.str(), layout, small_dataset());
    // CheXpert: valid.csv is the generator's valid split, train.csv the rest; MIMIC: one table.
    const auto expected = layout == LabelFormat::kCheXpert ? in_release_order(truth, {{"train", "test"}, {"valid"}})
                                                           : in_release_order(truth, {{"train", "valid", "test"}});
    label_options().uncertain = Uncertain::kIgnore;
    const Read ignored = read_release(tables);
    label_options().uncertain = Uncertain::kOnes;
    const Read ones = read_release(tables);
    label_options().uncertain = Uncertain::kIgnore;
    check_pixels(truth, expected, ignored, 3.0);
    CHECK(patients(ignored) == size_t(small_dataset().patients));

    int missing = 0, uncertain = 0;
    for (size_t i = 0; i < expected.size(); ++i)
      for (size_t k = 0; k < ignored.label_names.size(); ++k) {
        const bool finding = truth.finding(expected[i], ignored.label_names[k]);
        const float a = ignored.images[i].labels[k], b = ones.images[i].labels[k];
        CHECK((std::isnan(a) || a == float(finding)));  // known labels are the findings
        CHECK((!finding || b == 1.0f));                 // with U-Ones every finding is 1 (-1.0 or 1.0)
        missing += std::isnan(a);
        uncertain += finding && std::isnan(a);
      }
    CHECK(missing > uncertain);  // negatives not mentioned, as well as uncertain findings
    CHECK(uncertain > 0);
    // Never mentioned: known only where No Finding sets them to 0.
    const size_t fracture = index_of(ignored.label_names, "Fracture");
    for (size_t i = 0; i < expected.size(); ++i)
      CHECK(std::isnan(ignored.images[i].labels[fracture]) !=
            std::all_of(expected[i].labels.begin(), expected[i].labels.end(), [](float v) { return v == 0.0f; }));
  }
}

TEST_CASE("synthetic releases: MIMIC-CXR's official split is the generator's") {
  const Truth truth;
  {
    test::TempDir dir;
    const auto tables = write_synthetic_release(dir.str(), LabelFormat::kMimic, small_dataset());
    label_options().official_split = "validate";
    const Read read = read_release(tables);
    label_options().official_split.clear();
    CHECK(read.images.size() == truth.valid.size());
  }
}

TEST_CASE("label formats by name: each of the eight, and an unknown one listing them") {
  for (const char* name : {"auto", "nih", "notebook", "chexpert", "mimic", "vindr", "padchest", "rsna"})
    CHECK_NOTHROW(label_format_from_name(name));
  CHECK(label_format_from_name("mimic") == LabelFormat::kMimic);
  CHECK_THROWS_WITH_AS(label_format_from_name("mimic-cxr"),
                       doctest::Contains("expected auto, nih, notebook, chexpert, mimic, vindr, padchest or rsna"),
                       Error);
}
