// Checkpoints: last.safetensors holds the weights, batch norm's statistics, Adam's moments and,
// as JSON metadata, the loop's state and the settings the run depends on (train/checkpoint.h).
#include "train/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "tensor/safetensors.h"

namespace rg {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Optional numbers are JSON null when absent (NaN for the "not yet known" doubles).
json nullable(double v) { return std::isnan(v) ? json(nullptr) : json(v); }
double from_nullable(const json& j) { return j.is_null() ? std::nan("") : j.get<double>(); }

json to_json(const EpochLog& e) {
  json auc = json::array();
  for (const auto& a : e.val_auc) auc.push_back(a ? json(*a) : json(nullptr));
  return {{"epoch", e.epoch},       {"train_loss", e.train_loss},
          {"val_loss", e.val_loss}, {"lr", e.lr},
          {"seconds", e.seconds},   {"val_mean_auc", e.val_mean_auc ? json(*e.val_mean_auc) : json(nullptr)},
          {"val_auc", auc}};
}

EpochLog epoch_from_json(const json& j) {
  EpochLog e;
  e.epoch = j.at("epoch");
  e.train_loss = j.at("train_loss");
  e.val_loss = j.at("val_loss");
  e.lr = j.at("lr");
  e.seconds = j.at("seconds");
  if (!j.at("val_mean_auc").is_null()) e.val_mean_auc = j.at("val_mean_auc").get<double>();
  for (const auto& a : j.at("val_auc"))
    e.val_auc.push_back(a.is_null() ? std::nullopt : std::optional<double>(a.get<double>()));
  return e;
}

// 64-bit FNV-1a over a label table (image names, labels, patient ids): tells two tables apart when
// a label file or --limit changed.
std::string fingerprint(const data::LabelTable& table) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](const void* data, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const uint8_t*>(data)[i]) * 0x100000001b3ull;
  };
  for (const std::string& name : table.label_names) mix(name.data(), name.size() + 1);
  for (const auto& item : table.images) {
    mix(item.image.data(), item.image.size() + 1);
    mix(item.labels.data(), item.labels.size() * sizeof(float));
    mix(item.patient_id.data(), item.patient_id.size() + 1);
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return std::to_string(table.size()) + " images, fingerprint " + hex;
}

// One process, or several with synchronized batch norm, train the same model: a run may resume
// with another number of processes then, but not when each rank normalized its own slice.
std::string batch_norm_statistics(int ranks, bool sync_batch_norm) {
  if (ranks == 1 || sync_batch_norm) return "over the global batch";
  return "over each of " + std::to_string(ranks) + " ranks' slices (mpirun -np " + std::to_string(ranks) +
         " --sync-batch-norm off)";
}

void check_run_settings(const std::string& path, const json& recorded, const json& now) {
  auto text = [](const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); };
  for (const auto& [name, value] : now.items()) {
    const json was = recorded.is_object() && recorded.contains(name) ? recorded[name] : json("not recorded");
    RG_CHECK(was == value, "resume: ", name, " was ", text(was), " when ", path, " was written, and is ", text(value),
             " now; resume with the same settings, or train into a new --out folder");
  }
}

// The training state besides tensors, as the checkpoint's training_state holds it.
json training_state(const Adam& adam, const PlateauSchedule& plateau, const LoopState& s) {
  json history = json::array();
  for (const auto& e : s.history) history.push_back(to_json(e));
  return {{"epoch", s.epoch},
          {"batch", s.batch},
          {"loss_sum", s.loss_sum},
          {"loss_batches", s.loss_batches},
          {"lr", s.lr},
          {"best", nullable(s.best)},
          {"best_epoch", s.best_epoch},
          {"epochs_without_improvement", s.epochs_without_improvement},
          {"adam_steps", adam.steps()},
          {"plateau",
           {{"best", nullable(plateau.best)},
            {"bad_epochs", plateau.bad_epochs},
            {"cooldown_left", plateau.cooldown_left}}},
          {"rng", {{"seed", default_generator().seed()}, {"counter", default_generator().counter()}}},
          {"history", history}};
}

}  // namespace

// What a run depends on besides the model and the training state: a checkpoint records it, and a
// resume with any of it changed would continue a different run, so it is refused.
json run_settings(const data::DataLoader& train, const data::DataLoader& valid, int ranks, bool sync_batch_norm) {
  const data::LoaderOptions& t = train.options();
  const data::AugmentOptions& a = t.augmentation;
  std::ostringstream augmentation;
  if (!t.augment || !a.any()) {
    augmentation << "off";
  } else {
    augmentation << "flip " << (a.horizontal_flip ? "on" : "off") << ", rotation " << a.max_rotation_deg
                 << ", translation " << a.max_translation << ", zoom " << a.max_zoom << ", brightness "
                 << a.max_brightness << ", contrast " << a.max_contrast;
  }
  return {{"--batch-size", std::to_string(t.batch_size)},
          {"--image-size", std::to_string(t.width) + "x" + std::to_string(t.height)},
          {"--seed", std::to_string(t.seed)},
          {"shuffling", t.shuffle ? "on" : "off"},
          {"augmentation", augmentation.str()},
          {"training normalization", t.normalization.to_json()},
          {"validation normalization", valid.options().normalization.to_json()},
          {"training images (--train, --limit)", fingerprint(train.table())},
          {"validation images (--valid, --limit)", fingerprint(valid.table())},
          {"batch norm statistics", batch_norm_statistics(ranks, sync_batch_norm)}};
}

std::string checkpoint_path(const TrainOptions& o) { return (fs::path(o.out_dir) / "last.safetensors").string(); }

LoopState apply_training_state(const std::string& text, Adam& adam, PlateauSchedule& plateau, const std::string& path) {
  LoopState s;
  try {
    const json j = json::parse(text);
    adam.load_state(j.at("adam_steps"), adam.first_moments(), adam.second_moments());
    plateau.best = from_nullable(j.at("plateau").at("best"));
    plateau.bad_epochs = j.at("plateau").at("bad_epochs");
    plateau.cooldown_left = j.at("plateau").at("cooldown_left");
    default_generator().set_state(j.at("rng").at("seed"), j.at("rng").at("counter"));
    s.epoch = j.at("epoch");
    s.batch = j.at("batch");
    s.loss_sum = j.at("loss_sum");
    s.loss_batches = j.at("loss_batches");
    s.lr = j.at("lr");
    s.best = from_nullable(j.at("best"));
    s.best_epoch = j.at("best_epoch");
    s.epochs_without_improvement = j.at("epochs_without_improvement");
    for (const auto& e : j.at("history")) s.history.push_back(epoch_from_json(e));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": damaged training_state in the checkpoint: " + e.what());
  }
  return s;
}

void save_checkpoint(const TrainOptions& o, const Module& model, const ModelInfo& info, const Adam& adam,
                     const PlateauSchedule& plateau, const LoopState& s, const json& settings) {
  NamedTensors tensors;
  for (const auto& [name, t] : model.state_dict()) tensors.emplace_back("model." + name, t);
  const NamedTensors params = model.named_parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    tensors.emplace_back("adam.m." + params[i].first, adam.first_moments()[i]);
    tensors.emplace_back("adam.v." + params[i].first, adam.second_moments()[i]);
  }
  auto metadata = info.to_metadata();
  metadata["training_state"] = training_state(adam, plateau, s).dump();
  metadata["run_settings"] = settings.dump();
  write_safetensors(checkpoint_path(o), tensors, metadata);
}

std::string load_checkpoint(const TrainOptions& o, Module& model, Adam& adam, const json& settings) {
  const std::string path = checkpoint_path(o);
  RG_CHECK(fs::exists(path), "resume: no checkpoint ", path, " to resume from");
  const SafeTensors file = read_safetensors(path);
  RG_CHECK(file.metadata.count("training_state"), path, ": not a training checkpoint (no training_state)");
  RG_CHECK(file.metadata.count("run_settings"), path,
           ": cannot be resumed: it records no run_settings (written by an "
           "older roentgen)");
  json recorded;
  try {
    recorded = json::parse(file.metadata.at("run_settings"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": damaged run_settings in the checkpoint: " + e.what());
  }
  check_run_settings(path, recorded, settings);
  NamedTensors weights;
  std::map<std::string, Tensor> rest;
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind("model.", 0) == 0)
      weights.emplace_back(name.substr(6), t);
    else
      rest[name] = t;
  }
  model.load_state_dict(weights);
  std::vector<Tensor> m, v;
  for (const auto& [name, t] : model.named_parameters()) {
    RG_CHECK(rest.count("adam.m." + name) && rest.count("adam.v." + name), path, ": no Adam state for ", name);
    m.push_back(rest["adam.m." + name]);
    v.push_back(rest["adam.v." + name]);
  }
  adam.load_state(adam.steps(), m, v);
  return file.metadata.at("training_state");
}

}  // namespace rg
