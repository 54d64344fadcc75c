// The training loop: logs, the best model, early stopping, NaN handling, and exact resume.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "data/augment.h"
#include "data/image.h"
#include "data/pack.h"
#include "data/synthetic.h"
#include "data_helpers.h"
#include "training_fixture.h"
#include "helpers.h"
#include "tensor/factory.h"
#include "tensor/io.h"
#include "tensor/upload.h"
#include "train/device_batches.h"
#include "train/tensorboard.h"
#include "train/trainer.h"

using namespace rg;
namespace fs = std::filesystem;

namespace {

const DenseNetConfig& kTiny = test::kTinyDenseNet;

struct Setup : test::TrainingData {
  data::LoaderOptions loader_options() const {
    return {.batch_size = 4, .width = 32, .height = 32, .seed = 1, .threads = 1, .augment = true};
  }
};

std::shared_ptr<DenseNet> fresh_model(uint64_t seed) {
  Generator gen(seed);
  return std::make_shared<DenseNet>(kTiny, gen);
}

}  // namespace

TEST_CASE("CRC-32C matches its published check value") { CHECK(crc32c("123456789") == 0xE3069283u); }

TEST_CASE("training writes logs, TensorBoard events and the best model, and restores the best weights") {
  Setup s;
  test::TempDir out;
  auto model = fresh_model(1);
  data::DataLoader train(s.train, s.data.file("images"), s.loader_options());
  data::DataLoader valid(s.valid, s.data.file("images"),
                         {.batch_size = 8, .width = 32, .height = 32, .shuffle = false, .threads = 1});
  const TrainResult r = rg::train(*model, s.info, train, valid, s.weights,
                                  {.epochs = 3, .adam = {.lr = 1e-3}, .out_dir = out.str(), .progress = false});
  REQUIRE(r.history.size() == 3);
  CHECK(r.stop_reason.empty());
  CHECK(r.stop == StopReason::Completed);
  for (const auto& e : r.history) {
    CHECK(std::isfinite(e.train_loss));
    CHECK(std::isfinite(e.val_loss));
    CHECK(e.val_auc.size() == 14);
  }
  CHECK(r.best_epoch >= 1);
  const data::CsvTable log = data::read_csv(out.file("log.csv"));
  CHECK(log.rows.size() == 3);
  CHECK(log.header[1] == "train_loss");
  CHECK(log.header.back() == "auc_Pneumothorax");
  // The TensorBoard file: a valid first record (length, masked CRC of the length).
  const auto events = fs::directory_iterator(out.file("tensorboard"))->path().string();
  const std::string bytes = read_file(events);
  REQUIRE(bytes.size() > 16);
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  uint32_t stored = 0;
  std::memcpy(&stored, bytes.data() + 8, 4);
  const uint32_t crc = crc32c(bytes.substr(0, 8));
  CHECK(stored == ((crc >> 15) | (crc << 17)) + 0xA282EAD8u);
  CHECK(bytes.find("brain.Event:2") != std::string::npos);
  CHECK(bytes.find("loss/valid") != std::string::npos);
  // best.safetensors is a model file with metadata, and the model ends with its weights.
  const SafeTensors best = read_safetensors(out.file("best.safetensors"));
  CHECK(ModelInfo::from_metadata(best.metadata, "best").labels.size() == 14);
  for (const auto& [name, t] : model->state_dict())
    REQUIRE(best.find(name).to_vector<double>() == t.to_vector<double>());
  // last.safetensors is a checkpoint: given where a model file is expected, the error says how to
  // make one, and export_checkpoint does (the last epoch's weights, the same metadata).
  CHECK_THROWS_WITH_AS(load_model(out.file("last.safetensors")),
                       doctest::Contains("is a training checkpoint, not a model file; `roentgen export --checkpoint"),
                       Error);
  export_checkpoint(out.file("last.safetensors"), out.file("exported.safetensors"));
  const SafeTensors exported = read_safetensors(out.file("exported.safetensors"));
  CHECK(ModelInfo::from_metadata(exported.metadata, "exported").labels == s.info.labels);
  CHECK_FALSE(exported.metadata.count("training_state"));
  const SafeTensors last = read_safetensors(out.file("last.safetensors"));
  REQUIRE(exported.tensors.size() == model->state_dict().size());
  for (const auto& [name, t] : exported.tensors)
    REQUIRE(t.to_vector<double>() == last.find("model." + name).to_vector<double>());
  model->load_state_dict(exported.tensors);  // every name of the model, nothing else
  CHECK_THROWS_WITH_AS(export_checkpoint(out.file("best.safetensors"), out.file("x.safetensors")),
                       doctest::Contains("not a training checkpoint"), Error);
}

TEST_CASE("min_epochs: earlier epochs are never the best and never count towards early stopping") {
  Setup s;
  // Training on the validation images with every label inverted makes the validation loss worse
  // with every epoch: epoch 1 is the best, and early stopping (patience 1) ends the run after 2.
  data::LabelTable inverted = s.valid;
  for (auto& item : inverted.images)
    for (float& y : item.labels) y = 1.0f - y;
  const ClassWeights weights = class_weights(compute_class_freqs(inverted.label_matrix()));
  for (const int min_epochs : {1, 3, 9}) {  // 9 > epochs: the last epoch is the first candidate
    test::TempDir out;
    auto model = fresh_model(1);
    data::DataLoader train(inverted, s.data.file("images"), s.loader_options());
    data::DataLoader valid(s.valid, s.data.file("images"),
                           {.batch_size = 8, .width = 32, .height = 32, .shuffle = false, .threads = 1});
    const TrainResult r = rg::train(*model, s.info, train, valid, weights,
                                    {.epochs = 3,
                                     .adam = {.lr = 1e-1},
                                     .out_dir = out.str(),
                                     .early_stopping_patience = 1,
                                     .min_epochs = min_epochs,
                                     .progress = false});
    CAPTURE(min_epochs);
    REQUIRE(r.history.size() >= 2);
    CHECK(r.history[1].val_loss > r.history[0].val_loss);
    CHECK(r.history.size() == (min_epochs == 1 ? 2 : 3));
    CHECK(r.best_epoch == (min_epochs == 1 ? 1 : 3));
  }
}

TEST_CASE("an interrupted run, resumed, ends with exactly the weights of an uninterrupted one") {
  Setup s;
  test::TempDir straight, broken;
  const TrainOptions base{.epochs = 2, .adam = {.lr = 1e-3}, .checkpoint_every = 1, .progress = false};
  // Dropout draws from the random generator in every step: its state must be saved and restored.
  DenseNetConfig with_dropout = kTiny;
  with_dropout.drop_rate = 0.2;
  auto run = [&](const std::string& dir, int64_t stop_after, bool resume, uint64_t init_seed,
                 data::LoaderOptions loader_options) {
    Generator gen(init_seed);
    auto model = std::make_shared<DenseNet>(with_dropout, gen);
    manual_seed(5);  // dropout's generator, seeded as roentgen train seeds it; a resume restores its state
    data::DataLoader train(s.train, s.data.file("images"), loader_options);
    data::DataLoader valid(s.valid, s.data.file("images"),
                           {.batch_size = 8, .width = 32, .height = 32, .shuffle = false, .threads = 1});
    TrainOptions o = base;
    o.out_dir = dir;
    o.stop_after_batches = stop_after;
    o.resume = resume;
    o.restore_best = false;
    const TrainResult r = rg::train(*model, s.info, train, valid, s.weights, o);
    return std::make_pair(model, r);
  };
  const data::LoaderOptions lo = s.loader_options();
  const auto [whole, whole_result] = run(straight.str(), -1, false, 1, lo);
  const auto [part, part_result] = run(broken.str(), 2, false, 1, lo);  // interrupted inside epoch 1
  CHECK(part_result.stop == StopReason::Interrupted);
  CHECK(part_result.stop == StopReason::Interrupted);
  // Resuming with a setting the run depends on changed is refused, naming the setting and both values.
  data::LoaderOptions other_batch = lo;
  other_batch.batch_size = 2;
  CHECK_THROWS_WITH_AS(run(broken.str(), -1, true, 1, other_batch),
                       doctest::Contains(("resume: --batch-size was 4 when " + broken.file("last.safetensors") +
                                          " was written, and is 2 now")
                                             .c_str()),
                       Error);
  data::LoaderOptions other_seed = lo;
  other_seed.seed = 7;
  CHECK_THROWS_WITH_AS(run(broken.str(), -1, true, 1, other_seed), doctest::Contains("resume: --seed was 1"), Error);
  data::LoaderOptions no_flips = lo;
  no_flips.augment = false;
  CHECK_THROWS_WITH_AS(run(broken.str(), -1, true, 1, no_flips), doctest::Contains("resume: augmentation was flip on"),
                       Error);
  const auto [resumed, resumed_result] = run(broken.str(), -1, true, 99, lo);  // another init: the checkpoint decides
  REQUIRE(resumed_result.history.size() == 2);
  CHECK(resumed_result.history[1].val_loss == whole_result.history[1].val_loss);
  // A checkpoint whose training state is damaged is refused by name.
  SafeTensors damaged = read_safetensors(broken.file("last.safetensors"));
  damaged.metadata["training_state"] = "{\"epoch\": \"one\"}";
  write_safetensors(broken.file("last.safetensors"), damaged.tensors, damaged.metadata);
  CHECK_THROWS_WITH_AS(run(broken.str(), -1, true, 1, lo), doctest::Contains("damaged training_state"), Error);
  const auto a = whole->state_dict(), b = resumed->state_dict();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i)
    REQUIRE_MESSAGE(a[i].second.to_vector<double>() == b[i].second.to_vector<double>(), a[i].first);
}

TEST_CASE("a NaN loss stops training with a clear message and leaves the last checkpoint alone") {
  Setup s;
  test::TempDir out;
  auto model = fresh_model(1);
  {
    NoGradGuard no_grad;
    model->classifier->bias.fill_(std::nan(""));
  }
  data::DataLoader train(s.train, s.data.file("images"), s.loader_options());
  data::DataLoader valid(s.valid, s.data.file("images"), {.batch_size = 8, .width = 32, .height = 32, .threads = 1});
  const TrainResult r =
      rg::train(*model, s.info, train, valid, s.weights, {.epochs = 1, .out_dir = out.str(), .progress = false});
  CHECK(r.stop == StopReason::NonFiniteLoss);
  CHECK(r.stop_reason.find("the loss is NaN at epoch 1, batch 1") != std::string::npos);
  CHECK(r.stop_reason.find("last.safetensors") != std::string::npos);
  CHECK_FALSE(fs::exists(out.file("last.safetensors")));
  CHECK_THROWS_WITH_AS(rg::train(*model, s.info, train, valid, s.weights, {.out_dir = out.str(), .resume = true}),
                       doctest::Contains("resume: no checkpoint"), Error);
}

TEST_CASE("DeviceBatches gives the loader's batches, from any first batch, and ends with it") {
  Setup s;
  data::DataLoader loader(s.train, s.data.file("images"), s.loader_options());
  data::DataLoader same(s.train, s.data.file("images"), s.loader_options());
  DeviceBatches batches(loader, Device::cpu());
  for (int64_t first : {int64_t(0), int64_t(1)}) {
    CAPTURE(first);
    batches.start_epoch(2, first);
    same.start_epoch(2, first);
    data::Batch got, want;
    int64_t n = 0;
    while (same.next(want)) {
      REQUIRE(batches.next(got));
      CHECK(got.indices == want.indices);
      test::check_close(got.images, want.images, 0, 0, "images");
      test::check_close(got.labels, want.labels, 0, 0, "labels");
      ++n;
    }
    CHECK(!batches.next(got));
    CHECK(n == loader.batches_per_epoch() - first);
  }
}

TEST_CASE("an upload to the CPU is the tensor itself, and is taken once") {
  auto uploader = make_uploader(Device::cpu());
  const Tensor x = rand({3, 4});
  Upload up = uploader->start(x);
  CHECK(up.pending());
  const Tensor got = up.take();
  CHECK(got.storage() == x.storage());
  CHECK(!up.pending());
  CHECK_THROWS_WITH_AS(up.take(), doctest::Contains("nothing pending"), Error);
}

TEST_CASE("training from a pack is training from the folder: the same losses and the same weights") {
  // Images at 48 px resized to the model's 32 at every read, or once into the pack.
  test::TempDir dir;
  data::write_synthetic_dataset(
      dir.str(), {.patients = 14, .max_images_per_patient = 2, .size = 48, .seed = 3, .prevalence_scale = 4.0});
  const data::LabelTable train = data::read_labels(dir.file("train.csv")),
                         valid = data::read_labels(dir.file("valid.csv"));
  data::write_pack({train, valid}, {.image_dir = dir.file("images"), .out = dir.file("32.rgpack"), .size = 32});
  const ClassWeights weights = class_weights(compute_class_freqs(train.label_matrix()));
  ModelInfo info;
  info.labels = train.label_names;
  info.image_size = 32;
  auto run = [&](const std::string& images) {
    auto model = fresh_model(1);
    data::DataLoader train_loader(
        train, images, {.batch_size = 4, .width = 32, .height = 32, .seed = 1, .threads = 2, .augment = true});
    data::DataLoader valid_loader(valid, images,
                                  {.batch_size = 8, .width = 32, .height = 32, .shuffle = false, .threads = 1});
    test::TempDir out;
    const TrainResult r =
        rg::train(*model, info, train_loader, valid_loader, weights,
                  {.epochs = 2, .adam = {.lr = 1e-3}, .out_dir = out.str(), .min_epochs = 1, .progress = false});
    return std::make_pair(model, r);
  };
  const auto [from_folder, folder_result] = run(dir.file("images"));
  const auto [from_pack, pack_result] = run(dir.file("32.rgpack"));
  REQUIRE(folder_result.history.size() == 2);
  REQUIRE(pack_result.history.size() == 2);
  for (size_t e = 0; e < 2; ++e) {
    CHECK(folder_result.history[e].train_loss == pack_result.history[e].train_loss);
    CHECK(folder_result.history[e].val_loss == pack_result.history[e].val_loss);
  }
  const auto a = from_folder->state_dict(), b = from_pack->state_dict();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i)
    REQUIRE_MESSAGE(a[i].second.to_vector<double>() == b[i].second.to_vector<double>(), a[i].first);
}

TEST_CASE("test-time augmentation: flip averages each image's probabilities with its mirror image's") {
  // mirrored: the columns in reverse order, each row and channel alike.
  const Tensor x = from_vector({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3});
  CHECK(mirrored(x).to_vector<float>() == std::vector<float>{3, 2, 1, 6, 5, 4});
  CHECK_THROWS_WITH_AS(tta_from_name("rotate"), doctest::Contains("expected none or flip"), Error);

  // Against the mirror images written as files and scored without augmentation.
  Setup s;
  test::TempDir flipped;
  for (const auto& item : s.valid.images)
    data::write_png(flipped.file(item.image),
                    data::flip_horizontal(data::decode_image(s.data.file("images/" + item.image))));
  const data::LoaderOptions options{.batch_size = 3, .width = 32, .height = 32, .shuffle = false, .threads = 1};
  auto model = fresh_model(5);
  data::DataLoader loader(s.valid, s.data.file("images"), options), mirror(s.valid, flipped.str(), options);
  const auto plain = predict_all(*model, loader), tta = predict_all(*model, loader, false, Tta::kFlip);
  const auto other = predict_all(*model, mirror);
  REQUIRE(tta.size() == plain.size());
  double largest = 0;
  for (size_t i = 0; i < tta.size(); ++i)
    for (size_t k = 0; k < tta[i].size(); ++k) {
      CHECK(tta[i][k] == doctest::Approx((plain[i][k] + other[i][k]) / 2).epsilon(1e-5));
      largest = std::max(largest, double(std::abs(plain[i][k] - other[i][k])));
    }
  CHECK(largest > 1e-4);  // the mirror images do score differently: the test can tell
}
