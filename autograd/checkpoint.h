// Recomputation ("gradient checkpointing"): spend compute to save memory.
//
// checkpoint(fn, inputs) runs fn(inputs) without recording the graph inside it, so none of fn's
// intermediate results are kept; it records a single node that keeps only the inputs. That node's
// backward runs fn again on the same inputs with recording on, and backpropagates through the
// fresh graph: the output and every gradient (inputs' and parameters') are those of fn itself.
//
// DenseNet uses it for each dense layer's bottleneck, batch norm -> ReLU -> 1x1 convolution over
// the concatenated features (Pleiss et al., 2017, "Memory-efficient implementation of DenseNets"):
// without it, every layer keeps its own normalized copy of all earlier features, and training
// memory grows with the square of the depth.
//
// fn must compute the same thing both times: no random numbers inside it, and state that it
// updates (batch norm's running statistics) must not be updated again while is_recomputing().
#pragma once

#include <functional>
#include <vector>

#include "tensor/tensor.h"

namespace rg::autograd {

using CheckpointFn = std::function<Tensor(const std::vector<Tensor>& inputs)>;

Tensor checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs);

// True while a checkpoint's backward runs its function again (on this thread).
bool is_recomputing();

}  // namespace rg::autograd
