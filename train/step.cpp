#include "train/step.h"

#include <chrono>
#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "losses/bce.h"
#include "tensor/backend.h"
#include "train/interrupt.h"

namespace rg {

namespace {

// Measures the phases of a step into `times`; does nothing without them (training).
class PhaseClock {
 public:
  PhaseClock(StepTimes* times, Device device) : times_(times), device_(device) {}
  // The seconds since the last lap (or the start) go to `phase`, after the device has caught up.
  void lap(double StepTimes::*phase) {
    if (!times_) return;
    backend_for(device_).synchronize();
    const auto now = std::chrono::steady_clock::now();
    times_->*phase = std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }

 private:
  StepTimes* times_;
  Device device_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace

StepResult train_step(const StepParts& p, const data::Batch& batch, StepTimes* times) {
  PhaseClock clock(times, p.model.device());
  if (p.reducer)
    p.reducer->zero_grad();  // the gradients: views of its buckets
  else
    p.adam.zero_grad();
  const int64_t n = batch.labels.size(0);
  const Tensor logits = p.model.logits(batch.images);
  // An empty slice still runs the forward and backward: synchronized batch norm's collectives
  // need every rank. Its loss is 0 with a graph (the sum of no logits).
  const Tensor loss = n > 0 ? weighted_loss_with_logits(logits, batch.labels, p.w_pos, p.w_neg) *
                                  (double(n) / double(batch.global_size))
                            : sum(logits);
  double global[2] = {loss.item(), interrupt_requested() ? 1.0 : 0.0};
  clock.lap(&StepTimes::forward);
  p.comm.allreduce(global, 2, ReduceOp::Sum);
  clock.lap(&StepTimes::waiting);
  const StepResult result{global[0], global[1] > 0};
  if (!std::isfinite(result.loss)) return result;
  backward(loss);
  clock.lap(&StepTimes::backward);
  if (p.reducer) p.reducer->finish(1.0);
  clock.lap(&StepTimes::exposed_allreduce);
  p.adam.step();
  clock.lap(&StepTimes::update);
  return result;
}

}  // namespace rg
