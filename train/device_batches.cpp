#include "train/device_batches.h"

namespace rg {

void DeviceBatches::start_epoch(int epoch, int64_t first_batch) {
  images_ = Upload();  // an epoch started anew drops what was in flight
  labels_ = Upload();
  loader_.start_epoch(epoch, first_batch);
  fetch();
}

void DeviceBatches::fetch() {
  have_next_ = loader_.next(next_);
  if (!have_next_) return;
  images_ = uploader_->start(next_.images);
  labels_ = uploader_->start(next_.labels);
}

bool DeviceBatches::next(data::Batch& batch) {
  if (!have_next_) return false;
  batch.images = images_.take();
  batch.labels = labels_.take();
  batch.indices = std::move(next_.indices);
  batch.global_size = next_.global_size;
  fetch();
  return true;
}

}  // namespace rg
