// Data-parallel training: every rank holds the whole model, trains on its slice of each global
// batch (data/loader.h: LoaderOptions::rank), and the ranks add up their gradients before every
// rank applies the same update — so the weights stay identical everywhere, and N ranks train the
// model one process trains on the same global batches (with synchronized batch norm:
// layers/sync_batch_norm.h). PyTorch's DistributedDataParallel and Horovod do the same.
//
//   broadcast_model(model, comm);         // at the start: every rank takes rank 0's weights
//   GradientReducer reducer(model.parameters(), comm);   // hooks on every parameter
//   each step: reducer.zero_grad(); backward(loss); reducer.finish(1.0); adam.step();
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

// Sums the parameters' gradients over the ranks in buckets of about `bucket_bytes` (PyTorch DDP's
// 25 MB), taken from the last parameter to the first (about the order in which the backward
// finishes them). A bucket's allreduce starts from the hook of its last parameter to get its
// gradient (Tensor::set_grad_hook), so it runs — on the communicator's thread, or NCCL's stream —
// while the backward goes on; finish() waits for the rest. Every rank runs the same graph, so the
// buckets start in the same order everywhere. A parameter must get one gradient per backward
// (as in DenseNet; a second one after its bucket left is an error).
//
// The gradients are views of the buckets (DDP's gradient_as_bucket_view): zero_grad() points each
// parameter's .grad at its zeroed place in its bucket, the backward adds into it where it lies
// (autograd/engine.h), and the sums stay there: nothing is copied in or out. A .grad found
// elsewhere when its bucket starts (an optimizer's zero_grad() dropped it) is copied in once.
class GradientReducer {
 public:
  GradientReducer(std::vector<Tensor> parameters, Communicator& comm, int64_t bucket_bytes = 25 << 20);
  ~GradientReducer();  // waits for the collectives in flight (never throws), removes the hooks
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Before backward(): every parameter's .grad becomes zeros, a view of its bucket.
  void zero_grad();
  // After backward(): every parameter's .grad becomes scale * the sum over the ranks (a parameter
  // without a gradient counts as zeros), a view of its bucket. train_step times it as the exposed
  // allreduce.
  void finish(double scale);
  size_t buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> members;  // indices into parameters_
    Tensor flat;                  // [sum of their numel], on the parameters' device
    size_t ready = 0;             // members whose gradient arrived in this backward
    std::unique_ptr<PendingCollective> pending;
  };
  void gradient_ready(size_t parameter);
  void start(Bucket& bucket);
  // Calls fn(parameter, its place in the bucket) for each member of `bucket`.
  template <typename Fn>
  void for_each_slot(Bucket& bucket, Fn fn);

  std::vector<Tensor> parameters_;
  std::vector<size_t> bucket_of_;  // per parameter
  std::vector<bool> arrived_;      // per parameter, in this backward
  Communicator& comm_;
  std::vector<Bucket> buckets_;
};

// The mean over the ranks of every batch norm's running statistics (with batch norm per rank,
// each rank's statistics follow its own slices): at each epoch's end, so every rank validates
// and saves the same model.
void average_buffers(Module& model, Communicator& comm);

}  // namespace rg
