// A DataLoader's batches on the model's device, the next batch's copy under way while the current
// one trains (tensor/upload.h). On the CPU, the loader's batches as they are.
//
//   DeviceBatches batches(loader, device);
//   batches.start_epoch(epoch);
//   data::Batch batch;
//   while (batches.next(batch)) { ... batch.images and batch.labels on `device` ... }
#pragma once

#include <memory>

#include "data/loader.h"
#include "tensor/upload.h"

namespace rg {

class DeviceBatches {
 public:
  DeviceBatches(data::DataLoader& loader, Device device) : loader_(loader), uploader_(make_uploader(device)) {}

  // As DataLoader::start_epoch; the first batch's copy starts at once.
  void start_epoch(int epoch, int64_t first_batch = 0);
  // The next batch, its tensors on the device (and the following batch's copy started); false
  // when the epoch is over.
  bool next(data::Batch& batch);

 private:
  void fetch();  // the loader's next batch, its copy started

  data::DataLoader& loader_;
  std::unique_ptr<Uploader> uploader_;
  bool have_next_ = false;
  data::Batch next_;  // on the host
  Upload images_, labels_;
};

}  // namespace rg
