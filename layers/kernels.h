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

// ---- batch norm over the channels of x [N, C, H, W] or [N, C], in four steps ----
// The steps of PyTorch's SyncBatchNorm: batch_norm (layers/batch_norm.cpp) and sync_batch_norm
// (layers/sync_batch_norm.cpp) are both built from them; sync_batch_norm adds the ranks' sums up
// between steps. Per channel c, the M = N*H*W values x[., c, .]; weight, bias [C] or undefined;
// mean and var [C] in x's dtype; the backward's sums [C] in float64.
// Per channel: mean and the biased variance (0 and 0 for a channel with no values).
using BatchNormStats = void(const Tensor& x, Tensor& mean, Tensor& var);
// y = (x - mean) / sqrt(var + eps) * weight + bias, then max(0, y) with relu (DenseNet follows
// every batch norm by a ReLU). Training passes the batch's statistics; eval the running ones.
using BatchNormElemt = void(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mean,
                            const Tensor& var, double eps, bool relu, Tensor& y);
// The backward's per-channel sums: sum_dy = sum gy, sum_dy_xmu = sum gy * (x - mean).
// relu_y: the forward's output when it applied the ReLU (gy then counts only where relu_y > 0),
// else undefined.
using BatchNormBackwardReduce = void(const Tensor& x, const Tensor& gy, const Tensor& relu_y, const Tensor& mean,
                                     Tensor& sum_dy, Tensor& sum_dy_xmu);
// gx = weight * invstd * (gy - sum_dy / count - (x - mean) * invstd^2 * sum_dy_xmu / count) with
// invstd = 1 / sqrt(var + eps): the sums and count are those of the values the statistics came
// from (every rank's under sync_batch_norm). Sums of zero give eval mode's gx = weight * invstd * gy.
using BatchNormBackwardElemt = void(const Tensor& x, const Tensor& weight, const Tensor& gy, const Tensor& relu_y,
                                    const Tensor& mean, const Tensor& var, double eps, const Tensor& sum_dy,
                                    const Tensor& sum_dy_xmu, int64_t count, Tensor& gx);

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
  kernel::BatchNormStats* batch_norm_stats;
  kernel::BatchNormElemt* batch_norm_elemt;
  kernel::BatchNormBackwardReduce* batch_norm_backward_reduce;
  kernel::BatchNormBackwardElemt* batch_norm_backward_elemt;
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
