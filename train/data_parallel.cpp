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

GradientReducer::GradientReducer(std::vector<Tensor> parameters, Communicator& comm, int64_t bucket_bytes)
    : parameters_(std::move(parameters)), bucket_of_(parameters_.size()), arrived_(parameters_.size()), comm_(comm) {
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
    bucket_of_[i] = buckets_.size() - 1;
    bytes += size;
  }
  for (Bucket& b : buckets_) {
    int64_t n = 0;
    for (size_t i : b.members) n += parameters_[i].numel();
    b.flat = Tensor::empty({n}, parameters_[b.members[0]].dtype(), parameters_[b.members[0]].device());
  }
  for (size_t i = 0; i < parameters_.size(); ++i) parameters_[i].set_grad_hook([this, i] { gradient_ready(i); });
}

GradientReducer::~GradientReducer() {
  for (Tensor& p : parameters_) p.set_grad_hook(nullptr);
  for (Bucket& b : buckets_) {
    if (!b.pending) continue;
    try {
      b.pending->wait();  // the buffer must outlive the collective writing it
    } catch (...) {       // a destructor may not throw; a broken communicator reports itself at its next call
    }
  }
}

template <typename Fn>
void GradientReducer::for_each_slot(Bucket& b, Fn fn) {
  int64_t offset = 0;
  for (size_t i : b.members) {
    fn(parameters_[i], slot(b.flat, offset, parameters_[i]));
    offset += parameters_[i].numel();
  }
}

void GradientReducer::zero_grad() {
  for (Bucket& b : buckets_) {
    b.flat.fill_(0);
    for_each_slot(b, [](Tensor& p, const Tensor& s) { p.set_grad(s); });
  }
}

void GradientReducer::gradient_ready(size_t parameter) {
  RG_CHECK(!arrived_[parameter], "GradientReducer: parameter ", parameter, " (shape ",
           shape_str(parameters_[parameter].shape()),
           ") got a second gradient in one backward; data-parallel "
           "training needs each parameter used once per step");
  arrived_[parameter] = true;
  Bucket& b = buckets_[bucket_of_[parameter]];
  if (++b.ready == b.members.size()) start(b);
}

// Every member's gradient in its place in the bucket (already there after zero_grad()), then the
// allreduce.
void GradientReducer::start(Bucket& b) {
  NoGradGuard no_grad;
  for_each_slot(b, [](Tensor& p, Tensor s) {
    const Tensor g = p.grad();
    if (!g.defined())
      s.fill_(0);
    else if (g.storage() != s.storage() || g.offset() != s.offset())
      s.copy_(g);
    p.set_grad(s);
  });
  b.pending = comm_.allreduce_async(b.flat, ReduceOp::Sum);
}

void GradientReducer::finish(double scale) {
  NoGradGuard no_grad;
  for (Bucket& b : buckets_)  // those with a parameter that got no gradient, in the same order everywhere
    if (!b.pending) start(b);
  for (Bucket& b : buckets_) {
    b.pending->wait();
    b.pending.reset();
    b.ready = 0;
    if (scale != 1.0) b.flat.copy_(b.flat * scale);
  }
  std::fill(arrived_.begin(), arrived_.end(), false);
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
