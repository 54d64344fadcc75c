// The training loop's checkpoint, last.safetensors (train/trainer.h says what it holds), and the
// settings a run depends on: a resume with any of them changed is refused, naming the setting.
#pragma once

#include <nlohmann/json.hpp>

#include <limits>
#include <string>
#include <vector>

#include "data/loader.h"
#include "models/model_file.h"
#include "optim/adam.h"
#include "optim/plateau.h"
#include "train/trainer.h"

namespace rg {

// Everything besides tensors that a checkpoint keeps.
struct LoopState {
  int epoch = 0;        // 0-based epoch to run next
  int64_t batch = 0;    // batches of that epoch already done
  double loss_sum = 0;  // over those batches
  int64_t loss_batches = 0;
  double lr = 0;
  double best = std::numeric_limits<double>::quiet_NaN();
  int best_epoch = 0, epochs_without_improvement = 0;
  std::vector<EpochLog> history;
};

// What the run depends on besides the model and the loop's state (batch size, image size, seed,
// shuffling, augmentation, normalization, the tables' fingerprints, how batch norm's statistics
// span the ranks).
nlohmann::json run_settings(const data::DataLoader& train, const data::DataLoader& valid, int ranks,
                            bool sync_batch_norm);

std::string checkpoint_path(const TrainOptions& o);  // out_dir/last.safetensors

// Writes last.safetensors atomically.
void save_checkpoint(const TrainOptions& o, const Module& model, const ModelInfo& info, const Adam& adam,
                     const PlateauSchedule& plateau, const LoopState& s, const nlohmann::json& settings);

// Reads last.safetensors into the model and Adam's moments, refusing changed settings; returns
// its training_state's text (for apply_training_state, on every rank).
std::string load_checkpoint(const TrainOptions& o, Module& model, Adam& adam, const nlohmann::json& settings);

// Adam's step count, the plateau schedule and the random generator take the state's values; returns
// the loop's state. A damaged state is an error naming `path`.
LoopState apply_training_state(const std::string& text, Adam& adam, PlateauSchedule& plateau, const std::string& path);

}  // namespace rg
