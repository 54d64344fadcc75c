// Data-parallel training: every rank holds the whole model, trains on its slice of each global
// batch (data/loader.h: LoaderOptions::rank), and the ranks add up their gradients before every
// rank applies the same update — so the weights stay identical everywhere, and N ranks train the
// model one process trains on the same global batches (with synchronized batch norm:
// layers/sync_batch_norm.h). PyTorch's DistributedDataParallel and Horovod do the same.
//
//   broadcast_model(model, comm);         // at the start: every rank takes rank 0's weights
//   GradientReducer reducer(model.parameters(), comm);
//   each step: backward(loss); reducer.reduce(1 / images in the global batch); adam.step();
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "distributed/communicator.h"
#include "layers/module.h"
#include "optim/adam.h"

namespace rg {

// Every parameter and buffer (batch norm's statistics) of `model` becomes rank 0's.
void broadcast_model(Module& model, Communicator& comm);

// Adam's moments become rank 0's (after rank 0 alone read a checkpoint).
void broadcast_adam(Adam& adam, Communicator& comm);

// Rank 0's text, on every rank.
std::string broadcast_text(Communicator& comm, const std::string& text);

// Sums the parameters' gradients over the ranks in buckets of about `bucket_bytes` (PyTorch DDP's
// 25 MB), taken from the last parameter to the first (the order in which the backward finishes
// them), and multiplies them by `scale`. A bucket's allreduce runs on the communicator's own
// thread (or NCCL stream) while the next bucket is packed.
class GradientReducer {
 public:
  GradientReducer(std::vector<Tensor> parameters, Communicator& comm, int64_t bucket_bytes = 25 << 20);
  // After backward(): every parameter's .grad becomes scale * the sum over the ranks (a parameter
  // without a gradient counts as zeros).
  void reduce(double scale);
  size_t buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> members;  // indices into parameters_
    Tensor flat;                  // [sum of their numel], on the parameters' device
  };
  std::vector<Tensor> parameters_;
  Communicator& comm_;
  std::vector<Bucket> buckets_;
};

// The mean over the ranks of every batch norm's running statistics (with batch norm per rank,
// each rank's statistics follow its own slices): at each epoch's end, so every rank validates
// and saves the same model.
void average_buffers(Module& model, Communicator& comm);

}  // namespace rg
