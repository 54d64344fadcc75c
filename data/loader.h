// The data loader: label table + images (a folder or a pack) -> batches of normalized images and
// labels.
//
//   DataLoader loader(read_labels("train.csv"), "images/", {.batch_size = 8, .augment = true});
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     loader.start_epoch(epoch);                 // reshuffles, seeded by (seed, epoch)
//     Batch batch;
//     while (loader.next(batch)) { ... batch.images [N, 3, H, W], batch.labels [N, L] ... }
//   }
//
// Worker threads load (data/image_source.h: decode and resize, or read a pack's record), augment
// and normalize whole batches ahead of the consumer,
// at most `prefetch` batches ahead. Each image's random augmentation is keyed by
// (seed, epoch, image index), so the batches are identical for any number of threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "data/augment.h"
#include "data/image_source.h"
#include "data/labels.h"
#include "data/normalize.h"
#include "tensor/tensor.h"

namespace rg::data {

struct LoaderOptions {
  int batch_size = 8;
  int width = 320, height = 320;  // the model's input size
  bool shuffle = true;            // a new seeded order every epoch
  uint64_t seed = 0;
  int threads = 2;       // decoding threads; 0 decodes on the caller's thread
  int prefetch = 4;      // batches prepared ahead, at most
  bool augment = false;  // training only
  AugmentOptions augmentation;
  Normalization normalization;
  bool skip_bad_images = false;  // warn and count unreadable images instead of failing
  // Called with each image as loaded (the table's row; before augmentation and normalization) and
  // the size it is stored at, from the loader's threads: for the input checks (data/image_checks.h).
  std::function<void(size_t row, const GrayImage& image, StoredSize stored)> observe;
  // Data-parallel training (train/data_parallel.h): every rank shuffles alike, and this loader
  // gives rank `rank`'s contiguous slice of each global batch of batch_size images (a short last
  // batch may leave a slice empty). batches_per_epoch() counts global batches.
  int rank = 0, ranks = 1;
};

// Rank `rank`'s slice [first, last) of the positions [begin, end) split among `ranks`: contiguous,
// in rank order, sizes differing by at most one.
std::pair<int64_t, int64_t> rank_slice(int64_t begin, int64_t end, int rank, int ranks);

struct Batch {
  Tensor images;                // [N, 3, H, W] float32
  Tensor labels;                // [N, L] float32
  std::vector<size_t> indices;  // the rows of the label table, in batch order
  // Images in the global batch this is one rank's slice of (with one rank: the batch's own size),
  // as planned: an image dropped by skip_bad_images still counts.
  int64_t global_size = 0;
};

class DataLoader {
 public:
  // `images`: a folder of PNG/JPEG files or a .rgpack pack (open_image_source), checked against
  // the table and the size first.
  DataLoader(LabelTable table, std::shared_ptr<const ImageSource> images, LoaderOptions options);
  DataLoader(LabelTable table, const std::string& images, LoaderOptions options)
      : DataLoader(std::move(table), open_image_source(images), std::move(options)) {}
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Begins epoch `epoch` (any number; the same epoch always gives the same batches), from its
  // batch `first_batch` on (to resume an interrupted epoch).
  void start_epoch(int epoch, int64_t first_batch = 0);
  // The next batch of the epoch; false when the epoch is over. Rethrows a decoding error
  // (unless skip_bad_images) in the batch where it happened.
  bool next(Batch& batch);

  int64_t batches_per_epoch() const;
  int64_t skipped_images() const { return skipped_; }  // over the loader's lifetime
  const LabelTable& table() const { return table_; }
  const LoaderOptions& options() const { return options_; }
  const ImageSource& images() const { return *images_; }

 private:
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };
  Slot make_batch(int64_t index) const;
  void worker();
  void stop_workers();

  LabelTable table_;
  std::shared_ptr<const ImageSource> images_;
  LoaderOptions options_;
  int epoch_ = 0;
  std::vector<size_t> order_;  // this epoch's image order
  mutable std::atomic<int64_t> skipped_{0};

  // Shared with the workers, under mutex_.
  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t next_to_make_ = 0, next_to_give_ = 0;
  std::map<int64_t, Slot> ready_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace rg::data
