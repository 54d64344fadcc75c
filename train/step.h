// One training step — the only one: train() runs it on every batch and `roentgen bench` times it.
//
//   forward and the weighted loss -> the loss summed over the ranks -> backward (the gradient
//   buckets' allreduces start during it) -> the rest of the allreduces -> Adam
//
// Each rank's loss is its slice's mean times its share of the global batch, so the ranks' losses
// and gradients add up to the global batch's (alone: times 1, exactly the one-process step).
#pragma once

#include "data/loader.h"
#include "distributed/communicator.h"
#include "models/classifier.h"
#include "optim/adam.h"
#include "train/data_parallel.h"

namespace rg {

// What a step works on, the same for every step.
struct StepParts {
  Classifier& model;
  Tensor w_pos, w_neg;  // [L] the loss's class weights, on the model's device
  Adam& adam;
  Communicator& comm;
  GradientReducer* reducer = nullptr;  // null with one rank
};

// Seconds of each phase, each timed to its end on the device (a GPU is synchronized).
struct StepTimes {
  double forward = 0;            // forward and the loss, read on the host
  double waiting = 0;            // the loss's allreduce: waiting for the slowest rank
  double backward = 0;           // the gradient buckets' allreduces overlap it
  double exposed_allreduce = 0;  // the allreduces still running after the backward
  double update = 0;             // Adam
};

struct StepResult {
  double loss;       // the global batch's, the same on every rank
  bool interrupted;  // a signal reached some rank (train/interrupt.h): every rank stops after this step
};

// One step on this rank's slice of a global batch of batch.global_size images. A non-finite loss
// stops before the backward, on every rank alike. `times`, when given, receives the phases.
StepResult train_step(const StepParts& parts, const data::Batch& batch, StepTimes* times = nullptr);

}  // namespace rg
