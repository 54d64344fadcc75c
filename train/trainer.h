// The training loop of the notebook's section 4, with its Keras callbacks:
//   - the weighted loss (losses/bce.h, from logits) with Adam,
//   - validation loss and per-class AUROC after every epoch,
//   - ModelCheckpoint: best.safetensors, a model file of the best epoch by the monitored metric,
//   - ReduceLROnPlateau on the monitored metric,
//   - EarlyStopping with the best weights restored at the end,
//   - logs: log.csv and TensorBoard event files in tensorboard/,
//   - last.safetensors: a checkpoint with everything needed to resume exactly — weights, batch
//     norm statistics, Adam's moments, the schedules, the random generator, the epoch and the
//     position inside it. Written atomically after every epoch (and every `checkpoint_every`
//     batches); `resume` continues from it, ending with the same weights as an uninterrupted run.
//     It also records what the run depends on (batch size, image size, seed, shuffling,
//     augmentation, normalization, and a fingerprint of the training and validation tables, which
//     changes with a label file or --limit); resuming with any of these changed is an error.
// A NaN or infinite loss stops training with a message; the last checkpoint stays as it was.
// Started by mpirun as N processes, train() trains data-parallel (train/data_parallel.h): the
// loaders give each rank its slice of every global batch, the losses, metrics and decisions are
// those of the global batch and the whole validation set on every rank, and only rank 0 writes
// files and progress lines.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "data/loader.h"
#include "distributed/communicator.h"
#include "losses/class_frequencies.h"
#include "models/classifier.h"
#include "models/model_file.h"
#include "optim/adam.h"
#include "optim/plateau.h"
#include "train/recipe.h"

namespace rg {

struct TrainOptions {
  int epochs = kRecipe.epochs;
  AdamOptions adam{.lr = kRecipe.lr};
  std::string out_dir = "run";
  bool monitor_auc = false;  // monitor the validation mean AUROC (higher is better) instead of the loss
  PlateauOptions plateau{.factor = 0.1, .patience = 1};
  int early_stopping_patience = 3;      // epochs without improvement before stopping; 0: never stop early
  int min_epochs = kRecipe.min_epochs;  // epochs before this one are never the best nor count towards stopping
  bool restore_best = true;             // load the best epoch's weights at the end
  int checkpoint_every = 0;             // also checkpoint every N batches (0: at epoch ends only)
  bool resume = false;                  // continue from out_dir/last.safetensors
  int64_t stop_after_batches = -1;      // stop (as if interrupted) after this many batches; for tests
  bool progress = true;
  Device device = Device::cpu();  // where the model trains: train() moves it there, and each batch
  // Under mpirun (train/data_parallel.h): batch norm over the global batch (true), or over each
  // rank's slice with the running statistics averaged at each epoch's end (false).
  bool sync_batch_norm = true;
  Communicator* communicator = nullptr;  // null: the job's (world_for(device)); tests pass their own
};

// The communicator a training with `options` runs on: theirs, or the job's.
Communicator& communicator_of(const TrainOptions& options);

struct EpochLog {
  int epoch = 0;  // 1-based
  double train_loss = 0, val_loss = 0, lr = 0, seconds = 0;
  std::optional<double> val_mean_auc;
  std::vector<std::optional<double>> val_auc;  // per label
};

// Why training ended.
enum class StopReason {
  Completed,      // every epoch ran
  EarlyStopping,  // no improvement for early_stopping_patience epochs
  NonFiniteLoss,  // a NaN or infinite loss: the last checkpoint is kept as it was
  Interrupted,    // SIGTERM or SIGINT (last.safetensors written), or stop_after_batches was reached
};

struct TrainResult {
  std::vector<EpochLog> history;
  std::vector<double> batch_losses;  // the training loss of each batch this call ran, in order
  int best_epoch = 0;                // 1-based; 0 before any validation
  StopReason stop = StopReason::Completed;
  std::string stop_reason;  // what happened, in words; empty when every epoch ran
};

// Trains `model` (whose labels, image size and normalization `info` describes) on options.device;
// the model stays there afterwards.
TrainResult train(Classifier& model, const ModelInfo& info, data::DataLoader& train_loader,
                  data::DataLoader& valid_loader, const ClassWeights& weights, const TrainOptions& options);

// Test-time augmentation: kFlip averages each image's probabilities with those of its mirror image
// (left-right, as the training augmentation flips).
enum class Tta { kNone, kFlip };
Tta tta_from_name(const std::string& name);  // "none" or "flip"

// Probabilities for every image of the loader's table, in table order: [N][L]; an image the loader
// skipped (LoaderOptions::skip_bad_images) has none. Runs on the model's device (Module::to moves it).
std::vector<std::vector<float>> predict_all(Classifier& model, data::DataLoader& loader, bool progress = false,
                                            Tta tta = Tta::kNone);

// Images mirrored left-right: their columns in reverse order. x: [N, C, H, W].
Tensor mirrored(const Tensor& x);

}  // namespace rg
