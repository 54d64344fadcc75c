#include "train/trainer.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "data/csv.h"
#include "distributed/world.h"
#include "losses/bce.h"
#include "metrics/roc.h"
#include "tensor/io.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"
#include "train/device_batches.h"
#include "train/interrupt.h"
#include "train/progress.h"
#include "train/tensorboard.h"

namespace rg {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void write_log_csv(const TrainOptions& o, const ModelInfo& info, const std::vector<EpochLog>& history) {
  std::vector<std::string> header{"epoch", "train_loss", "val_loss", "val_mean_auc", "lr", "seconds"};
  for (const auto& l : info.labels) header.push_back("auc_" + l);
  std::string text = data::csv_line(header);
  auto number = [](std::optional<double> v) { return v ? std::to_string(*v) : std::string(); };
  for (const auto& e : history) {
    std::vector<std::string> row{std::to_string(e.epoch), std::to_string(e.train_loss), std::to_string(e.val_loss),
                                 number(e.val_mean_auc), std::to_string(e.lr), std::to_string(e.seconds)};
    for (const auto& a : e.val_auc) row.push_back(number(a));
    text += data::csv_line(row);
  }
  write_file_atomic((fs::path(o.out_dir) / "log.csv").string(), text);
}

// Validation: the weighted loss and per-class AUROC over the whole loader — over every rank's
// slices together when the loader gives this rank its slices.
void validate(DenseNet& model, data::DataLoader& loader, const ClassWeights& w, Communicator& comm, EpochLog& log) {
  model.eval();
  NoGradGuard no_grad;
  const Device device = model.device();
  const Tensor w_pos = w.positive.to(device), w_neg = w.negative.to(device);
  const int64_t labels = int64_t(loader.table().label_names.size());
  double sums[2] = {0, 0};    // the loss times the images, the images
  std::vector<double> mine;   // per image of this rank: its table row, then its probabilities
  DeviceBatches batches(loader, device);
  batches.start_epoch(0);
  data::Batch batch;
  while (batches.next(batch)) {
    const int64_t b = batch.labels.size(0);
    if (b == 0) continue;  // an empty slice of a short last batch
    const Tensor logits = model.logits(batch.images);
    sums[0] += weighted_loss_with_logits(logits, batch.labels, w_pos, w_neg).item() * double(b);
    sums[1] += double(b);
    const auto probs = sigmoid(logits).to_vector<float>();
    for (int64_t i = 0; i < b; ++i) {
      mine.push_back(double(batch.indices[size_t(i)]));
      mine.insert(mine.end(), probs.begin() + i * labels, probs.begin() + (i + 1) * labels);
    }
  }
  comm.allreduce(sums, 2, ReduceOp::Sum);
  const std::vector<double> all = comm.allgatherv(mine);
  std::vector<std::vector<float>> y(labels), p(labels);
  for (size_t at = 0; at < all.size(); at += size_t(labels) + 1) {
    const auto& truth = loader.table().images[size_t(all[at])].labels;
    for (int64_t k = 0; k < labels; ++k) {
      y[k].push_back(truth[size_t(k)]);
      p[k].push_back(float(all[at + 1 + size_t(k)]));
    }
  }
  log.val_loss = sums[0] / std::max(sums[1], 1.0);
  double sum = 0;
  int defined = 0;
  for (int64_t k = 0; k < labels; ++k) {
    log.val_auc.push_back(metrics::auroc(y[k], p[k]));
    if (log.val_auc.back()) sum += *log.val_auc.back(), ++defined;
  }
  if (defined) log.val_mean_auc = sum / defined;
}

}  // namespace

std::vector<std::vector<float>> predict_all(DenseNet& model, data::DataLoader& loader, bool progress) {
  model.eval();
  NoGradGuard no_grad;
  std::vector<std::vector<float>> out(loader.table().size());
  Progress bar("predict", loader.batches_per_epoch());
  const Device device = model.device();
  int64_t done = 0, images = 0;
  DeviceBatches batches(loader, device);
  batches.start_epoch(0);
  data::Batch batch;
  while (batches.next(batch)) {
    const auto probs = model.forward(batch.images).to_vector<float>();
    const size_t labels = probs.size() / batch.indices.size();
    for (size_t i = 0; i < batch.indices.size(); ++i)
      out[batch.indices[i]].assign(probs.begin() + int64_t(i * labels), probs.begin() + int64_t((i + 1) * labels));
    images += int64_t(batch.indices.size());
    if (progress) bar.update(++done, images, "");
  }
  if (progress) bar.finish("");
  return out;
}

namespace {

// What a non-finite loss says, and where training stopped.
std::string non_finite_loss(double value, const LoopState& s, const TrainOptions& o) {
  const char* what = std::isnan(value) ? "NaN" : value > 0 ? "+inf" : "-inf";
  return std::string("the loss is ") + what + " at epoch " + std::to_string(s.epoch + 1) + ", batch " +
         std::to_string(s.batch + 1) + ": training stopped (try a smaller learning rate); the last good checkpoint is " +
         checkpoint_path(o);
}

// The epoch's line under the progress bar.
std::string epoch_summary(const EpochLog& log) {
  std::ostringstream out;
  out << std::fixed;
  out.precision(4);
  out << "loss " << log.train_loss << ", val_loss " << log.val_loss << ", val AUROC ";
  if (log.val_mean_auc) out << *log.val_mean_auc;
  else out << "undefined";
  out << std::defaultfloat;
  out.precision(2);
  out << ", lr " << log.lr;
  return out.str();
}

void log_epoch(TensorBoardWriter& board, const EpochLog& log) {
  board.scalar("loss/train", log.train_loss, log.epoch);
  board.scalar("loss/valid", log.val_loss, log.epoch);
  if (log.val_mean_auc) board.scalar("auroc/valid_mean", *log.val_mean_auc, log.epoch);
  board.scalar("learning_rate", log.lr, log.epoch);
}

// The monitored metric of an epoch: the validation loss (lower is better) or mean AUROC (higher).
double monitored(const EpochLog& log, const TrainOptions& o) {
  return o.monitor_auc ? log.val_mean_auc.value_or(0.0) : log.val_loss;
}

// Keras' ModelCheckpoint(save_best_only): best.safetensors when the metric improved. Epochs
// before min_epochs are never the best, nor count towards early stopping: on a small validation
// set the first epoch's loss (a model still predicting the label frequencies) often wins by noise.
void model_checkpoint(const EpochLog& log, double metric, const TrainOptions& o, const DenseNet& model,
                      const ModelInfo& info, LoopState& s, bool write) {
  const bool candidate = log.epoch >= std::min(o.min_epochs, o.epochs);
  if (!candidate) return;
  const bool improved = std::isnan(s.best) || (o.monitor_auc ? metric > s.best : metric < s.best);
  if (!improved) {
    ++s.epochs_without_improvement;
    return;
  }
  s.best = metric;
  s.best_epoch = log.epoch;
  s.epochs_without_improvement = 0;
  if (write) save_model((fs::path(o.out_dir) / "best.safetensors").string(), model, info);
}

// Keras' ReduceLROnPlateau: the learning rate of the next epoch.
void reduce_lr_on_plateau(double metric, PlateauSchedule& plateau, Adam& adam, LoopState& s) {
  s.lr = plateau.step(metric, s.lr);
  adam.options().lr = s.lr;
}

// Keras' EarlyStopping: whether `early_stopping_patience` epochs went by without improvement.
bool early_stopping(const LoopState& s, const TrainOptions& o) {
  return o.early_stopping_patience > 0 && s.epochs_without_improvement >= o.early_stopping_patience;
}

struct StepResult {
  double loss;       // the global batch's, the same on every rank
  bool interrupted;  // a signal reached some rank (train/interrupt.h): every rank stops after this step
};

// One step on this rank's slice of the global batch: forward, the weighted loss, backward, the
// gradients summed over the ranks, Adam. Each rank's loss is its slice's mean times its share of
// the global batch, so the ranks' losses and gradients add up to the global batch's (alone: times
// 1, exactly the one-process step). A non-finite loss stops before the update, on every rank alike.
StepResult train_step(DenseNet& model, const data::Batch& batch, const Tensor& w_pos, const Tensor& w_neg, Adam& adam,
                  Communicator& comm, GradientReducer* reducer) {
  adam.zero_grad();
  const int64_t n = batch.labels.size(0);
  double images = double(n);
  comm.allreduce(&images, 1, ReduceOp::Sum);
  const Tensor logits = model.logits(batch.images);
  // An empty slice still runs the forward and backward: synchronized batch norm's collectives
  // need every rank. Its loss is 0 with a graph (the sum of no logits).
  const Tensor loss = n > 0 ? weighted_loss_with_logits(logits, batch.labels, w_pos, w_neg) * (double(n) / images)
                            : sum(logits);
  double global[2] = {loss.item(), interrupt_requested() ? 1.0 : 0.0};
  comm.allreduce(global, 2, ReduceOp::Sum);
  const StepResult result{global[0], global[1] > 0};
  if (!std::isfinite(result.loss)) return result;
  backward(loss);
  if (reducer) reducer->finish(1.0);
  adam.step();
  return result;
}

// Batch norm over each rank's slice needs an image in every slice (synchronized, an empty slice
// just adds nothing).
void check_slices(const data::DataLoader& loader, const Communicator& comm, const TrainOptions& o) {
  if (comm.size() == 1 || o.sync_batch_norm) return;
  const int64_t images = int64_t(loader.table().size()), batch = loader.options().batch_size;
  const int64_t smallest = std::min(batch, images % batch == 0 ? batch : images % batch);
  RG_CHECK(smallest >= comm.size(), "--sync-batch-norm off: every rank normalizes its own slice of each batch, and a "
           "batch of ", smallest, " images (", images, " training images in batches of ", batch, ") leaves a slice of ",
           comm.size(), " ranks empty: use a larger --batch-size or --sync-batch-norm on");
}

// Every rank takes the weights of the best epoch, which rank 0 saved.
void restore_best(DenseNet& model, const TrainOptions& o, Communicator& comm) {
  if (comm.is_root()) model.load_state_dict(read_safetensors((fs::path(o.out_dir) / "best.safetensors").string()).tensors);
  broadcast_model(model, comm);
}

}  // namespace

TrainResult train(DenseNet& model, const ModelInfo& info, data::DataLoader& train_loader, data::DataLoader& valid_loader,
                  const ClassWeights& weights, const TrainOptions& o) {
  Communicator& comm = o.communicator ? *o.communicator : world_for(o.device);
  const bool root = comm.is_root();  // only rank 0 writes files and progress lines
  RG_CHECK(train_loader.options().ranks == comm.size() && valid_loader.options().ranks == comm.size(),
           "train: the loaders give slices for ", train_loader.options().ranks, " and ", valid_loader.options().ranks,
           " ranks, and this job has ", comm.size(), " (set LoaderOptions::rank and ranks from world())");
  check_slices(train_loader, comm, o);
  if (root) fs::create_directories(o.out_dir);
  model.to(o.device);  // before Adam takes the parameters
  set_sync_batch_norm(model, comm.size() > 1 && o.sync_batch_norm ? &comm : nullptr);
  const Tensor w_pos = weights.positive.to(o.device), w_neg = weights.negative.to(o.device);
  Adam adam(model.parameters(), o.adam);
  PlateauOptions plateau_options = o.plateau;
  plateau_options.maximize = o.monitor_auc;
  PlateauSchedule plateau(plateau_options);
  LoopState s;
  s.lr = o.adam.lr;
  const json settings = run_settings(train_loader, valid_loader, comm.size(), o.sync_batch_norm);
  // Every rank starts from rank 0's weights (random, --weights or the checkpoint) and state: only
  // rank 0 reads the checkpoint, so it need not be on a disk the others see.
  const std::string state = o.resume && root ? load_checkpoint(o, model, adam, settings) : "";
  broadcast_model(model, comm);
  if (o.resume) {
    broadcast_adam(adam, comm);
    s = apply_training_state(broadcast_text(comm, state), adam, plateau, checkpoint_path(o));
    if (root) std::cerr << "resuming from " << checkpoint_path(o) << " at epoch " << s.epoch + 1 << ", batch " << s.batch << "\n";
  }
  std::unique_ptr<GradientReducer> reducer;
  if (comm.size() > 1) reducer = std::make_unique<GradientReducer>(model.parameters(), comm);
  adam.options().lr = s.lr;
  std::unique_ptr<TensorBoardWriter> board;
  if (root) board = std::make_unique<TensorBoardWriter>((fs::path(o.out_dir) / "tensorboard").string());
  const bool progress = o.progress && root;
  TrainResult result;
  result.history = s.history;
  result.best_epoch = s.best_epoch;
  int64_t batches_left = o.stop_after_batches;
  DeviceBatches batches(train_loader, o.device);
  InterruptGuard signals;

  for (; s.epoch < o.epochs; ++s.epoch) {
    // The epoch's batches.
    const auto start = std::chrono::steady_clock::now();
    model.train();
    batches.start_epoch(s.epoch, s.batch);
    Progress bar("epoch " + std::to_string(s.epoch + 1) + "/" + std::to_string(o.epochs), train_loader.batches_per_epoch());
    data::Batch batch;
    int64_t images = 0;
    while (batches.next(batch)) {
      const auto [value, interrupted] = train_step(model, batch, w_pos, w_neg, adam, comm, reducer.get());
      if (!std::isfinite(value)) {
        result.stop = StopReason::NonFiniteLoss;
        result.stop_reason = non_finite_loss(value, s, o);
        return result;
      }
      s.loss_sum += value;
      result.batch_losses.push_back(value);
      ++s.loss_batches;
      ++s.batch;
      images += int64_t(batch.indices.size()) * comm.size();  // about: the slices differ by one at most
      if (progress) {
        char status[64];
        std::snprintf(status, sizeof(status), "loss %.4f", s.loss_sum / double(s.loss_batches));
        bar.update(s.batch, images, status);
      }
      if (board) board->scalar("train/batch_loss", value, adam.steps());
      if (root && o.checkpoint_every > 0 && s.batch % o.checkpoint_every == 0)
        save_checkpoint(o, model, info, adam, plateau, s, settings);
      if (interrupted) {
        if (root) save_checkpoint(o, model, info, adam, plateau, s, settings);
        result.stop = StopReason::Interrupted;
        result.stop_reason = "interrupted by a signal after epoch " + std::to_string(s.epoch + 1) + ", batch " +
                             std::to_string(s.batch) + ": " + checkpoint_path(o) +
                             " holds it; the same command with --resume 1 continues";
        return result;
      }
      if (batches_left > 0 && --batches_left == 0) {
        result.stop = StopReason::Interrupted;
        result.stop_reason = "stopped after the requested number of batches";
        return result;
      }
    }

    // The epoch's end: validation, the logs, the three callbacks, the checkpoint.
    if (!o.sync_batch_norm) average_buffers(model, comm);
    EpochLog log;
    log.epoch = s.epoch + 1;
    log.train_loss = s.loss_sum / double(std::max<int64_t>(s.loss_batches, 1));
    log.lr = s.lr;
    validate(model, valid_loader, weights, comm, log);
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (progress) bar.finish(epoch_summary(log));
    result.history.push_back(log);
    if (board) log_epoch(*board, log);

    const double metric = monitored(log, o);
    model_checkpoint(log, metric, o, model, info, s, root);
    result.best_epoch = s.best_epoch;
    reduce_lr_on_plateau(metric, plateau, adam, s);
    s.history = result.history;
    s.batch = 0;
    s.loss_sum = 0;
    s.loss_batches = 0;
    if (root) {
      write_log_csv(o, info, result.history);
      LoopState next = s;
      next.epoch = s.epoch + 1;
      save_checkpoint(o, model, info, adam, plateau, next, settings);
    }
    if (early_stopping(s, o)) {
      result.stop = StopReason::EarlyStopping;
      result.stop_reason = "early stopping: no improvement for " + std::to_string(s.epochs_without_improvement) + " epochs";
      break;
    }
  }
  if (o.restore_best && result.best_epoch > 0) restore_best(model, o, comm);
  return result;
}

}  // namespace rg
