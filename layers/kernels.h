// The layer kernels: one table per device, the way tensor/backend.h does it for elementwise ops.
//
//   layer_kernels_for(x.device()).conv_forward(x, w, b, y, g);
//
// The op files (conv2d.cpp, batch_norm.cpp, pooling.cpp) check their arguments, work out the
// geometry, allocate the outputs on the input's device and record the backward; the arithmetic is
// here, behind this table:
//   layers/cpu/reference.cpp  the definitions as plain loops (what learners read, what tests trust)
//   layers/cpu/*.cpp          the fast CPU kernels (im2col + GEMM, parallel_for), tested against them
//   layers/cuda/              cuDNN, and CUDA kernels of our own, tested against the CPU
// layers/dispatch.cpp is the one place in layers/ that knows whether CUDA was built.
//
// Contract: outputs are allocated by the caller, contiguous, on the inputs' device, with the
// inputs' dtype. An input x may have any batch stride at least C*H*W as long as each sample
// [C, H, W] is contiguous (a channel prefix of a dense block's buffer is such a view); gy and the
// weights are contiguous. A gradient pointer that is null is not wanted. A batch may be empty.
#pragma once

#include "layers/geometry.h"
#include "tensor/tensor.h"

namespace rg {

// Each layer kernel's signature, written once. An engine declares its kernels with them
// (layers/cpu/cpu_kernels.h: `kernel::ConvForward conv_forward;` declares that function), and the
// table below holds pointers to them.
namespace kernel {

// ---- convolution: x [N, C, H, W], weight [O, C, KH, KW], y and gy [N, O, OH, OW] ----
// y = conv(x, weight) + bias (bias [O] or undefined).
using ConvForward = void(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const WindowGeometry& g);
// gx [N, C, H, W]: the gradient of the input.
using ConvBackwardData = void(const Tensor& weight, const Tensor& gy, Tensor& gx, const WindowGeometry& g);
// gw [O, C, KH, KW] and, when gb is not null, gb [O].
using ConvBackwardFilter = void(const Tensor& x, const Tensor& gy, Tensor& gw, Tensor* gb, const WindowGeometry& g);

// ---- batch norm over the channels of x [N, C, H, W] or [N, C]; weight, bias [C] or undefined ----
// With relu, y = max(0, batch norm) in the same pass (DenseNet follows every batch norm by one).
// Training: normalizes by this batch's statistics over (N, H, W). Writes y (x's shape), and per
// channel: mean, invstd = 1 / sqrt(biased var + eps) (kept for the backward) and the unbiased
// variance (for the running statistics).
using BatchNormTrain = void(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool relu, Tensor& y,
                            Tensor& mean, Tensor& invstd, Tensor& unbiased_var);
// Eval: normalizes by the given mean and (biased) var [C].
using BatchNormEval = void(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mean,
                           const Tensor& var, double eps, bool relu, Tensor& y);
// The training-mode backward (the statistics depend on x): gx, and gw, gb where not null.
// relu_y: the forward's output when it applied the ReLU (gy then counts only where relu_y > 0),
// else undefined. eps: the forward's (the saved invstd already holds it; cuDNN asks again).
using BatchNormBackward = void(const Tensor& x, const Tensor& weight, const Tensor& gy, const Tensor& relu_y,
                               const Tensor& mean, const Tensor& invstd, double eps, Tensor& gx, Tensor* gw,
                               Tensor* gb);

// ---- pooling: x [N, C, H, W] -> y [N, C, OH, OW] ----
// Max: padding is never the maximum; a NaN wins; the gradient goes to the first maximum of each
// window (found again in the backward, so no argmax is stored).
using MaxPoolForward = void(const Tensor& x, Tensor& y, const WindowGeometry& g);
using MaxPoolBackward = void(const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx, const WindowGeometry& g);
// Average: padding counts as zeros (PyTorch's count_include_pad).
using AvgPoolForward = void(const Tensor& x, Tensor& y, const WindowGeometry& g);
using AvgPoolBackward = void(const Tensor& gy, Tensor& gx, const WindowGeometry& g);

// ---- channel scale (squeeze-and-excitation's last step): x [N, C, H, W], s [N, C] ----
// y[n, c, h, w] = x[n, c, h, w] * s[n, c]
using ChannelScaleForward = void(const Tensor& x, const Tensor& s, Tensor& y);
// gx = gy * s (when gx is not null), gs[n, c] = sum_{h, w} gy * x (when gs is not null).
using ChannelScaleBackward = void(const Tensor& x, const Tensor& s, const Tensor& gy, Tensor* gx, Tensor* gs);

}  // namespace kernel

// One engine's layer kernels, filled by name (designated initializers: .conv_forward = ...);
// tests check that no entry is null.
struct LayerKernels {
  const char* name;  // "cpu", "cpu-reference", "cudnn"
  kernel::ConvForward* conv_forward;
  kernel::ConvBackwardData* conv_backward_data;
  kernel::ConvBackwardFilter* conv_backward_filter;
  kernel::BatchNormTrain* batch_norm_train;
  kernel::BatchNormEval* batch_norm_eval;
  kernel::BatchNormBackward* batch_norm_backward;
  kernel::MaxPoolForward* max_pool_forward;
  kernel::MaxPoolBackward* max_pool_backward;
  kernel::AvgPoolForward* avg_pool_forward;
  kernel::AvgPoolBackward* avg_pool_backward;
  kernel::ChannelScaleForward* channel_scale_forward;
  kernel::ChannelScaleBackward* channel_scale_backward;
};

// The kernels for `device`: the fast CPU ones, or cuDNN's (an rg::Error naming the reason when
// CUDA is not built or there is no such GPU).
const LayerKernels& layer_kernels_for(Device device);

namespace cpu {
const LayerKernels& layer_kernels();            // layers/cpu/: fast
const LayerKernels& reference_layer_kernels();  // layers/cpu/reference.cpp: plain loops
}  // namespace cpu

}  // namespace rg
