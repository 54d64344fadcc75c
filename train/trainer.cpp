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
#include "train/step.h"
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
                                 number(e.val_mean_auc),  std::to_string(e.lr),         std::to_string(e.seconds)};
    for (const auto& a : e.val_auc) row.push_back(number(a));
    text += data::csv_line(row);
  }
  write_file_atomic((fs::path(o.out_dir) / "log.csv").string(), text);
}

// Validation: the weighted loss and per-class AUROC over the whole loader — over every rank's
// slices together when the loader gives this rank its slices.
void validate(Classifier& model, data::DataLoader& loader, const ClassWeights& w, Communicator& comm, EpochLog& log) {
  model.eval();
  NoGradGuard no_grad;
  const Device device = model.device();
  const Tensor w_pos = w.positive.to(device), w_neg = w.negative.to(device);
  const int64_t labels = int64_t(loader.table().label_names.size());
  double sums[2] = {0, 0};   // the loss times the images, the images
  std::vector<double> mine;  // per image of this rank: its table row, then its probabilities
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

Tta tta_from_name(const std::string& name) {
  if (name == "none") return Tta::kNone;
  if (name == "flip") return Tta::kFlip;
  throw Error("unknown test-time augmentation '" + name + "' (expected none or flip)");
}

Tensor mirrored(const Tensor& x) {
  RG_CHECK(x.dim() == 4, "mirrored: expected images [N, C, H, W], got ", x.dim(), " dims");
  std::vector<Tensor> columns;
  for (int64_t j = x.size(3) - 1; j >= 0; --j) columns.push_back(slice(x, 3, j, j + 1));
  return cat(columns, 3);
}

std::vector<std::vector<float>> predict_all(Classifier& model, data::DataLoader& loader, bool progress, Tta tta) {
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
    if (!batch.indices.empty()) {  // (empty when skip_bad_images dropped every image of the batch)
      Tensor p = sigmoid(model.logits(batch.images));
      if (tta == Tta::kFlip) p = (p + sigmoid(model.logits(mirrored(batch.images)))) * 0.5;
      const auto probs = p.to_vector<float>();
      const size_t labels = probs.size() / batch.indices.size();
      for (size_t i = 0; i < batch.indices.size(); ++i)
        out[batch.indices[i]].assign(probs.begin() + int64_t(i * labels), probs.begin() + int64_t((i + 1) * labels));
      images += int64_t(batch.indices.size());
    }
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
         std::to_string(s.batch + 1) +
         ": training stopped (try a smaller learning rate); the last good checkpoint is " + checkpoint_path(o);
}

// The epoch's line under the progress bar.
std::string epoch_summary(const EpochLog& log) {
  std::ostringstream out;
  out << std::fixed;
  out.precision(4);
  out << "loss " << log.train_loss << ", val_loss " << log.val_loss << ", val AUROC ";
  if (log.val_mean_auc)
    out << *log.val_mean_auc;
  else
    out << "undefined";
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
void model_checkpoint(const EpochLog& log, double metric, const TrainOptions& o, const Classifier& model,
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

// Batch norm over each rank's slice needs an image in every slice (synchronized, an empty slice
// just adds nothing).
void check_slices(const data::DataLoader& loader, const Communicator& comm, const TrainOptions& o) {
  if (comm.size() == 1 || o.sync_batch_norm) return;
  const int64_t images = int64_t(loader.table().size()), batch = loader.options().batch_size;
  const int64_t smallest = std::min(batch, images % batch == 0 ? batch : images % batch);
  RG_CHECK(smallest >= comm.size(),
           "--sync-batch-norm off: every rank normalizes its own slice of each batch, and a "
           "batch of ",
           smallest, " images (", images, " training images in batches of ", batch, ") leaves a slice of ", comm.size(),
           " ranks empty: use a larger --batch-size or --sync-batch-norm on");
}

// Every rank takes the weights of the best epoch, which rank 0 saved.
void restore_best(Classifier& model, const TrainOptions& o, Communicator& comm) {
  if (comm.is_root())
    model.load_state_dict(read_safetensors((fs::path(o.out_dir) / "best.safetensors").string()).tensors);
  broadcast_model(model, comm);
}

// One call of train(): the loop's state and the epochs' parts.
class Training {
 public:
  Training(Classifier& model, const ModelInfo& info, data::DataLoader& train_loader, data::DataLoader& valid_loader,
           const ClassWeights& weights, const TrainOptions& o)
      : model_(model),
        info_(info),
        train_loader_(train_loader),
        valid_loader_(valid_loader),
        weights_(weights),
        o_(o),
        comm_(communicator_of(o)),
        root_(comm_.is_root()),
        adam_(on_device(model, o), o.adam),
        plateau_(plateau_options(o)),
        settings_(run_settings(train_loader, valid_loader, comm_.size(), o.sync_batch_norm)),
        parts_{model, weights.positive.to(o.device), weights.negative.to(o.device), adam_, comm_},
        batches_(train_loader, o.device) {}

  TrainResult run() {
    start();
    for (; s_.epoch < o_.epochs; ++s_.epoch) {
      if (!run_epoch()) return result_;  // a non-finite loss or an interruption: the weights stay as they are
      if (!end_epoch()) break;           // early stopping
    }
    if (o_.restore_best && result_.best_epoch > 0) restore_best(model_, o_, comm_);
    return result_;
  }

 private:
  // The model on the device, before Adam takes its parameters.
  static std::vector<Tensor> on_device(Classifier& model, const TrainOptions& o) {
    model.to(o.device);
    return model.parameters();
  }
  static PlateauOptions plateau_options(const TrainOptions& o) {
    PlateauOptions options = o.plateau;
    options.maximize = o.monitor_auc;
    return options;
  }

  // Every rank starts from rank 0's weights (random, --weights or the checkpoint) and state: only
  // rank 0 reads the checkpoint, so it need not be on a disk the others see.
  void start() {
    RG_CHECK(train_loader_.options().ranks == comm_.size() && valid_loader_.options().ranks == comm_.size(),
             "train: the loaders give slices for ", train_loader_.options().ranks, " and ",
             valid_loader_.options().ranks, " ranks, and this job has ", comm_.size(),
             " (set LoaderOptions::rank and ranks from world())");
    check_slices(train_loader_, comm_, o_);
    if (root_) fs::create_directories(o_.out_dir);
    set_sync_batch_norm(model_, comm_.size() > 1 && o_.sync_batch_norm ? &comm_ : nullptr);
    s_.lr = o_.adam.lr;
    std::string state = o_.resume && root_ ? load_checkpoint(o_, model_, adam_, settings_) : "";
    broadcast_model(model_, comm_);
    if (o_.resume) {
      broadcast_adam(adam_, comm_);
      comm_.broadcast(state, 0);
      s_ = apply_training_state(state, adam_, plateau_, checkpoint_path(o_));
      if (root_)
        std::cerr << "resuming from " << checkpoint_path(o_) << " at epoch " << s_.epoch + 1 << ", batch " << s_.batch
                  << "\n";
    }
    if (comm_.size() > 1) reducer_ = std::make_unique<GradientReducer>(model_.parameters(), comm_);
    parts_.reducer = reducer_.get();
    adam_.options().lr = s_.lr;
    if (root_) board_ = std::make_unique<TensorBoardWriter>((fs::path(o_.out_dir) / "tensorboard").string());
    result_.history = s_.history;
    result_.best_epoch = s_.best_epoch;
  }

  // The epoch's batches; false when training stops inside it.
  bool run_epoch() {
    epoch_start_ = std::chrono::steady_clock::now();
    model_.train();
    batches_.start_epoch(s_.epoch, s_.batch);
    bar_ = std::make_unique<Progress>("epoch " + std::to_string(s_.epoch + 1) + "/" + std::to_string(o_.epochs),
                                      train_loader_.batches_per_epoch());
    data::Batch batch;
    int64_t images = 0;
    while (batches_.next(batch)) {
      const StepResult step = train_step(parts_, batch);
      if (!std::isfinite(step.loss)) return stop(StopReason::NonFiniteLoss, non_finite_loss(step.loss, s_, o_));
      images += batch.global_size;
      after_step(step.loss, images);
      if (step.interrupted) {
        if (root_) save();
        return stop(StopReason::Interrupted, "interrupted by a signal after epoch " + std::to_string(s_.epoch + 1) +
                                                 ", batch " + std::to_string(s_.batch) + ": " + checkpoint_path(o_) +
                                                 " holds it; the same command with --resume 1 continues");
      }
      if (batches_left_ > 0 && --batches_left_ == 0)
        return stop(StopReason::Interrupted, "stopped after the requested number of batches");
    }
    return true;
  }

  // The running loss, the progress line, the batch's TensorBoard point, the checkpoint every N batches.
  void after_step(double loss, int64_t images) {
    s_.loss_sum += loss;
    result_.batch_losses.push_back(loss);
    ++s_.loss_batches;
    ++s_.batch;
    if (o_.progress && root_) {
      char status[64];
      std::snprintf(status, sizeof(status), "loss %.4f", s_.loss_sum / double(s_.loss_batches));
      bar_->update(s_.batch, images, status);
    }
    if (board_) board_->scalar("train/batch_loss", loss, adam_.steps());
    if (root_ && o_.checkpoint_every > 0 && s_.batch % o_.checkpoint_every == 0) save();
  }

  // The epoch's end: validation, the logs, the three callbacks, the checkpoint; false to stop early.
  bool end_epoch() {
    if (!o_.sync_batch_norm) average_buffers(model_, comm_);
    EpochLog log;
    log.epoch = s_.epoch + 1;
    log.train_loss = s_.loss_sum / double(std::max<int64_t>(s_.loss_batches, 1));
    log.lr = s_.lr;
    validate(model_, valid_loader_, weights_, comm_, log);
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
    if (o_.progress && root_) bar_->finish(epoch_summary(log));
    result_.history.push_back(log);
    if (board_) log_epoch(*board_, log);
    const double metric = monitored(log, o_);
    model_checkpoint(log, metric, o_, model_, info_, s_, root_);
    result_.best_epoch = s_.best_epoch;
    reduce_lr_on_plateau(metric, plateau_, adam_, s_);
    s_.history = result_.history;
    s_.batch = 0, s_.loss_sum = 0, s_.loss_batches = 0;
    if (root_) {
      write_log_csv(o_, info_, result_.history);
      LoopState next = s_;
      next.epoch = s_.epoch + 1;
      save_checkpoint(o_, model_, info_, adam_, plateau_, next, settings_);
    }
    if (!early_stopping(s_, o_)) return true;
    stop(StopReason::EarlyStopping,
         "early stopping: no improvement for " + std::to_string(s_.epochs_without_improvement) + " epochs");
    return false;
  }

  void save() { save_checkpoint(o_, model_, info_, adam_, plateau_, s_, settings_); }
  bool stop(StopReason why, std::string reason) {
    result_.stop = why;
    result_.stop_reason = std::move(reason);
    return false;
  }

  Classifier& model_;
  const ModelInfo& info_;
  data::DataLoader &train_loader_, &valid_loader_;
  const ClassWeights& weights_;
  const TrainOptions& o_;
  Communicator& comm_;
  const bool root_;  // only rank 0 writes files and progress lines
  Adam adam_;
  PlateauSchedule plateau_;
  const json settings_;
  LoopState s_;
  StepParts parts_;
  DeviceBatches batches_;
  std::unique_ptr<GradientReducer> reducer_;
  std::unique_ptr<TensorBoardWriter> board_;
  std::unique_ptr<Progress> bar_;
  std::chrono::steady_clock::time_point epoch_start_;
  int64_t batches_left_ = o_.stop_after_batches;
  InterruptGuard signals_;
  TrainResult result_;
};

}  // namespace

Communicator& communicator_of(const TrainOptions& options) {
  return options.communicator ? *options.communicator : world_for(options.device);
}

TrainResult train(Classifier& model, const ModelInfo& info, data::DataLoader& train_loader,
                  data::DataLoader& valid_loader, const ClassWeights& weights, const TrainOptions& options) {
  return Training(model, info, train_loader, valid_loader, weights, options).run();
}

}  // namespace rg
