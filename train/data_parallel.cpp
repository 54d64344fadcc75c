#include "train/data_parallel.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace rg {
namespace {

// `flat`'s elements [offset, offset + numel) seen with `like`'s shape.
Tensor slot(const Tensor& flat, int64_t offset, const Tensor& like) {
  return view_untracked(flat, like.shape(), contiguous_strides(like.shape()), flat.offset() + offset);
}

}  // namespace

void broadcast_model(Module& model, Communicator& comm) {
  if (comm.size() == 1) return;
  for (auto& [name, t] : model.state_dict()) {
    RG_CHECK(t.is_contiguous(), "broadcast_model: ", name, " is not contiguous");
    comm.broadcast(t, 0);
  }
}

void broadcast_adam(Adam& adam, Communicator& comm) {
  if (comm.size() == 1) return;
  for (const auto* moments : {&adam.first_moments(), &adam.second_moments()})
    for (Tensor t : *moments) comm.broadcast(t, 0);
}

std::string broadcast_text(Communicator& comm, const std::string& text) {
  if (comm.size() == 1) return text;
  return allgather_text(comm, comm.is_root() ? text : "")[0];
}

GradientReducer::GradientReducer(std::vector<Tensor> parameters, Communicator& comm, int64_t bucket_bytes)
    : parameters_(std::move(parameters)), comm_(comm) {
  int64_t bytes = 0;
  for (size_t i = parameters_.size(); i-- > 0;) {
    const Tensor& p = parameters_[i];
    RG_CHECK(p.dtype() == parameters_.back().dtype() && p.device() == parameters_.back().device(),
             "GradientReducer: every parameter must share one dtype and device");
    const int64_t size = p.numel() * int64_t(dtype_size(p.dtype()));
    if (buckets_.empty() || (bytes > 0 && bytes + size > bucket_bytes)) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().members.push_back(i);
    bytes += size;
  }
  for (Bucket& b : buckets_) {
    int64_t n = 0;
    for (size_t i : b.members) n += parameters_[i].numel();
    b.flat = Tensor::empty({n}, parameters_[b.members[0]].dtype(), parameters_[b.members[0]].device());
  }
}

void GradientReducer::reduce(double scale) {
  NoGradGuard no_grad;
  std::vector<std::unique_ptr<PendingCollective>> pending;
  for (Bucket& b : buckets_) {
    int64_t offset = 0;
    for (size_t i : b.members) {
      const Tensor& p = parameters_[i];
      Tensor s = slot(b.flat, offset, p);
      if (p.grad().defined()) s.copy_(p.grad());
      else s.fill_(0);
      offset += p.numel();
    }
    pending.push_back(comm_.allreduce_async(b.flat, ReduceOp::Sum));
  }
  for (size_t k = 0; k < buckets_.size(); ++k) {
    pending[k]->wait();
    const Tensor scaled = buckets_[k].flat * scale;
    int64_t offset = 0;
    for (size_t i : buckets_[k].members) {
      Tensor& p = parameters_[i];
      p.set_grad(slot(scaled, offset, p));
      offset += p.numel();
    }
  }
}

void average_buffers(Module& model, Communicator& comm) {
  if (comm.size() == 1) return;
  NoGradGuard no_grad;
  for (auto& [name, t] : model.named_buffers()) {
    if (t.dtype() != DType::Float32 && t.dtype() != DType::Float64) continue;  // num_batches_tracked: alike everywhere
    comm.allreduce(t, ReduceOp::Sum);
    t.copy_(t * (1.0 / comm.size()));
  }
}

}  // namespace rg
