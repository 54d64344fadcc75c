// The synthetic dataset and the loader that reads it (and the real NIH sample when present).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "data/csv.h"
#include "tensor/io.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "data_helpers.h"
#include "tensor/error.h"

using namespace rg;
using namespace rg::data;
using doctest::Contains;

namespace {

// One small synthetic dataset shared by the tests of this file (written once).
const std::string& synthetic_dir() {
  static test::TempDir dir;
  static bool written = false;
  if (!written) {
    write_synthetic_dataset(
        dir.str(), {.patients = 40, .max_images_per_patient = 3, .size = 96, .seed = 11, .prevalence_scale = 3.0});
    written = true;
  }
  static const std::string path = dir.str();
  return path;
}

std::string in_dir(const std::string& name) { return (std::filesystem::path(synthetic_dir()) / name).string(); }

std::vector<Batch> whole_epoch(DataLoader& loader, int epoch) {
  loader.start_epoch(epoch);
  std::vector<Batch> batches;
  Batch b;
  while (loader.next(b)) batches.push_back(b);
  return batches;
}

}  // namespace

TEST_CASE("synthetic data: the files it writes are read back by the same code, leakage-free") {
  const LabelTable all = read_labels(in_dir("labels.csv"));
  const LabelTable train = read_labels(in_dir("train.csv")), valid = read_labels(in_dir("valid.csv")),
                   test_set = read_labels(in_dir("test.csv"));
  CHECK(all.label_names == std::vector<std::string>(kPathologies.begin(), kPathologies.end()));
  CHECK(train.size() + valid.size() + test_set.size() == all.size());
  CHECK_FALSE(find_leakage(train, valid).leaked());
  CHECK_FALSE(find_leakage(train, test_set).leaked());
  CHECK_FALSE(find_leakage(valid, test_set).leaked());

  // Patients own several images: splitting by image instead of by patient would leak.
  std::map<std::string, int> images_of;
  for (const auto& item : all.images) ++images_of[item.patient_id];
  CHECK(std::any_of(images_of.begin(), images_of.end(), [](const auto& kv) { return kv.second > 1; }));
  LabelTable odd = all, even = all;
  odd.images.clear();
  even.images.clear();
  for (size_t i = 0; i < all.size(); ++i) (i % 2 ? odd : even).images.push_back(all.images[i]);
  CHECK(find_leakage(odd, even).leaked());

  // Every image decodes at the requested size.
  for (const auto& item : all.images) {
    const GrayImage g = decode_image(in_dir("images/" + item.image));
    REQUIRE(g.width == 96);
    REQUIRE(g.height == 96);
  }
  // Each planted finding has a box inside the image, and each positive label has a box.
  const CsvTable boxes = read_csv(in_dir("boxes.csv"));
  std::set<std::pair<std::string, std::string>> boxed;
  for (const auto& row : boxes.rows) {
    boxed.insert({row.fields[0], row.fields[1]});
    const double x = std::stod(row.fields[2]), y = std::stod(row.fields[3]), w = std::stod(row.fields[4]),
                 h = std::stod(row.fields[5]);
    CHECK((x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 96.01 && y + h <= 96.01));
  }
  for (const auto& item : all.images)
    for (size_t k = 0; k < 14; ++k) CHECK((item.labels[k] > 0.5f) == (boxed.count({item.image, kPathologies[k]}) > 0));
}

TEST_CASE("synthetic data is the same for the same seed and differs for another") {
  test::TempDir a, b, c;
  const SyntheticOptions options{.patients = 3, .size = 64, .seed = 5};
  write_synthetic_dataset(a.str(), options);
  write_synthetic_dataset(b.str(), options);
  SyntheticOptions other = options;
  other.seed = 6;
  write_synthetic_dataset(c.str(), other);
  CHECK(read_file(a.file("labels.csv")) == read_file(b.file("labels.csv")));
  CHECK(read_file(a.file("images/00000001_000.png")) == read_file(b.file("images/00000001_000.png")));
  CHECK(read_file(a.file("images/00000001_000.png")) != read_file(c.file("images/00000001_000.png")));
}

TEST_CASE("the loader yields every image once per epoch in batches, last one partial, labels aligned") {
  const LabelTable table = read_labels(in_dir("labels.csv"));
  DataLoader loader(table, in_dir("images"), {.batch_size = 8, .width = 32, .height = 24, .seed = 1});
  const auto batches = whole_epoch(loader, 0);
  CHECK(int64_t(batches.size()) == loader.batches_per_epoch());
  std::multiset<size_t> seen;
  for (size_t b = 0; b < batches.size(); ++b) {
    const Batch& batch = batches[b];
    const int64_t n = int64_t(batch.indices.size());
    CHECK(n == (b + 1 < batches.size() ? 8 : int64_t(table.size()) - 8 * int64_t(batches.size() - 1)));
    CHECK(batch.images.shape() == Shape{n, 3, 24, 32});
    CHECK(batch.labels.shape() == Shape{n, 14});
    const auto labels = batch.labels.to_vector<float>();
    for (int64_t i = 0; i < n; ++i) {
      seen.insert(batch.indices[i]);
      const auto& expected = table.images[batch.indices[i]].labels;
      CHECK(std::equal(expected.begin(), expected.end(), labels.begin() + i * 14));
    }
  }
  CHECK(seen.size() == table.size());
  CHECK(std::set<size_t>(seen.begin(), seen.end()).size() == table.size());
  // Sample normalization: every image of every batch, in each of its 3 channels, has mean 0 and
  // standard deviation 1.
  const int64_t plane = 32 * 24;
  int64_t planes = 0;
  for (const Batch& batch : batches) {
    const auto pixels = batch.images.to_vector<double>();
    for (size_t p = 0; p < pixels.size() / size_t(plane); ++p, ++planes) {
      double sum = 0, sq = 0;
      for (int64_t i = 0; i < plane; ++i)
        sum += pixels[p * plane + i], sq += pixels[p * plane + i] * pixels[p * plane + i];
      const double mean = sum / double(plane);
      CHECK(mean == doctest::Approx(0).scale(1).epsilon(1e-5));
      CHECK(std::sqrt(sq / double(plane) - mean * mean) == doctest::Approx(1).epsilon(1e-3));
    }
  }
  CHECK(planes == 3 * int64_t(table.size()));
}

TEST_CASE("the loader's batches depend on seed and epoch only, not on the number of threads") {
  const LabelTable table = read_labels(in_dir("train.csv"));
  LoaderOptions options{.batch_size = 5,
                        .width = 40,
                        .height = 40,
                        .seed = 7,
                        .augment = true,
                        .augmentation = {.max_rotation_deg = 5, .max_translation = 0.05, .max_brightness = 0.05}};
  std::vector<std::vector<Batch>> runs;
  for (int threads : {0, 1, 2, 4}) {
    options.threads = threads;
    options.prefetch = threads == 4 ? 1 : 3;
    DataLoader loader(table, in_dir("images"), options);
    runs.push_back(whole_epoch(loader, 2));
  }
  for (size_t r = 1; r < runs.size(); ++r) {
    REQUIRE(runs[r].size() == runs[0].size());
    for (size_t b = 0; b < runs[0].size(); ++b) {
      CHECK(runs[r][b].indices == runs[0][b].indices);
      CHECK(runs[r][b].images.to_vector<float>() == runs[0][b].images.to_vector<float>());
    }
  }
  // Another epoch: another order; the same epoch again: the same batches.
  options.threads = 2;
  DataLoader loader(table, in_dir("images"), options);
  const auto epoch3 = whole_epoch(loader, 3);
  CHECK(epoch3[0].indices != runs[0][0].indices);
  const auto epoch2 = whole_epoch(loader, 2);
  CHECK(epoch2[0].images.to_vector<float>() == runs[0][0].images.to_vector<float>());
}

TEST_CASE("bad images stop the loader with the file's name, or are skipped and counted when asked") {
  test::TempDir dir;
  const LabelTable all = read_labels(in_dir("labels.csv"));
  LabelTable table = all;
  table.images.resize(6);
  for (const auto& item : table.images)
    std::filesystem::copy_file(in_dir("images/" + item.image), dir.file(item.image));
  const std::string bytes = read_file(dir.file(table.images[3].image));
  write_file_atomic(dir.file(table.images[3].image), bytes.substr(0, bytes.size() / 3));
  table.images[4].image = "does_not_exist.png";

  DataLoader strict(table, dir.str(), {.batch_size = 4, .width = 16, .height = 16, .shuffle = false});
  strict.start_epoch(0);
  Batch batch;
  const std::string expected = table.images[3].image + ": truncated PNG";
  CHECK_THROWS_WITH_AS(strict.next(batch), Contains(expected.c_str()), Error);

  DataLoader lenient(table, dir.str(),
                     {.batch_size = 4, .width = 16, .height = 16, .shuffle = false, .skip_bad_images = true});
  const auto batches = whole_epoch(lenient, 0);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].indices == std::vector<size_t>{0, 1, 2});
  CHECK(batches[1].indices == std::vector<size_t>{5});
  CHECK(lenient.skipped_images() == 2);
}

TEST_CASE("dataset normalization is measured on a seeded sample of training images") {
  const LabelTable table = read_labels(in_dir("train.csv"));
  const auto images = open_image_source(in_dir("images"));
  const Normalization a = measure_dataset_normalization(table, *images, 48, 48, 10, 3);
  const Normalization b = measure_dataset_normalization(table, *images, 48, 48, 10, 3);
  const Normalization c = measure_dataset_normalization(table, *images, 48, 48, 10, 4);
  CHECK(a.kind == Normalization::Kind::Dataset);
  CHECK(a.mean == b.mean);
  CHECK(a.mean != c.mean);
  CHECK(a.sample_size == 10);
  // With every image in the sample, the numbers are the plain statistics of all pixels.
  const Normalization all = measure_dataset_normalization(table, *images, 48, 48, 100000, 0);
  double sum = 0, sq = 0, n = 0;
  for (const auto& item : table.images)
    for (float v : resize_rounded(decode_image(in_dir("images/" + item.image)), 48, 48).pixels)
      sum += v, sq += double(v) * v, ++n;
  CHECK(all.mean == doctest::Approx(sum / n));
  CHECK(all.std == doctest::Approx(std::sqrt(sq / n - (sum / n) * (sum / n))));
}

TEST_CASE("real data: the loader turns train-small.csv into correct batches") {
  if (test::skip_without_shared_data()) return;
  const std::string dir = test::shared_data_dir() + "/nih-sample/";
  const LabelTable table = read_labels(dir + "train-small.csv");
  DataLoader loader(table, dir + "images", {.batch_size = 32, .width = 64, .height = 64, .seed = 0, .augment = true});
  const auto batches = whole_epoch(loader, 0);
  CHECK(batches.size() == 13);  // 400 = 12 * 32 + 16
  CHECK(batches.back().indices.size() == 16);
  int64_t images = 0;
  for (const auto& b : batches) {
    images += int64_t(b.indices.size());
    const auto labels = b.labels.to_vector<float>();
    for (size_t i = 0; i < b.indices.size(); ++i)
      CHECK(std::equal(table.images[b.indices[i]].labels.begin(), table.images[b.indices[i]].labels.end(),
                       labels.begin() + int64_t(i) * 14));
    for (float v : b.images.to_vector<float>()) REQUIRE(std::isfinite(v));
  }
  CHECK(images == 400);
  CHECK(loader.skipped_images() == 0);
}

TEST_CASE("normalization specs are parsed whole; a dataset's standard deviation must be positive") {
  CHECK(Normalization::from_spec("sample").kind == Normalization::Kind::Sample);
  CHECK(Normalization::from_spec("dataset:120.5,60.25").std == 60.25);
  for (const char* bad : {"bogus", "dataset:0,0", "dataset:1,-2", "dataset:1,2x", "dataset:1", "dataset:nan,1"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(Normalization::from_spec(bad),
                         doctest::Contains((std::string("normalization '") + bad + "'").c_str()), Error);
  }
}
