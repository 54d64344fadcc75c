// The CPU layer kernels, gathered into the tables of layers/kernels.h by layers/cpu/tables.cpp.
// Each has the signature and contract of its kernel:: type in layers/kernels.h.
#pragma once

#include <algorithm>

#include "layers/kernels.h"
#include "tensor/parallel.h"

namespace rg::cpu {

// The stride between samples of x [N, ...] whose samples are each contiguous.
inline int64_t sample_stride(const Tensor& t) { return t.strides()[0]; }

// Batch norm's view of x [N, C, H, W] or [N, C] as [N, C, S]: element (n, c, s) is at
// n * batch_stride + c * S + s (in the contiguous y and gy: (n * C + c) * S + s).
struct ChannelLayout {
  int64_t n, c, s, batch_stride;
};
inline ChannelLayout channel_layout(const Tensor& x) {
  return {x.size(0), x.size(1), x.dim() == 4 ? x.size(2) * x.size(3) : 1, x.strides()[0]};
}

// Calls fn(p, q, yy, xx) for each position (p, q) of output (i, j)'s window that lies inside the
// image, at input row yy and column xx.
template <typename Fn>
inline void for_window(const WindowGeometry& g, int64_t i, int64_t j, Fn fn) {
  for (int64_t p = 0; p < g.kh; ++p)
    for (int64_t q = 0; q < g.kw; ++q) {
      const int64_t yy = i * g.sh + p * g.dh - g.ph, xx = j * g.sw + q * g.dw - g.pw;
      if (yy >= 0 && yy < g.h && xx >= 0 && xx < g.w) fn(p, q, yy, xx);
    }
}

// Fast: conv.cpp, batch_norm.cpp, pooling.cpp, channel_scale.cpp (signatures: layers/kernels.h).
kernel::ConvForward conv_forward;
kernel::ConvBackwardData conv_backward_data;
kernel::ConvBackwardFilter conv_backward_filter;
kernel::BatchNormStats batch_norm_stats;
kernel::BatchNormElemt batch_norm_elemt;
kernel::BatchNormBackwardReduce batch_norm_backward_reduce;
kernel::BatchNormBackwardElemt batch_norm_backward_elemt;
kernel::MaxPoolForward max_pool_forward;
kernel::MaxPoolBackward max_pool_backward;
kernel::AvgPoolForward avg_pool_forward;
kernel::AvgPoolBackward avg_pool_backward;
kernel::ChannelScaleForward channel_scale_forward;
kernel::ChannelScaleBackward channel_scale_backward;

// The plain definitions: reference.cpp.
namespace reference {
kernel::ConvForward conv_forward;
kernel::ConvBackwardData conv_backward_data;
kernel::ConvBackwardFilter conv_backward_filter;
kernel::BatchNormStats batch_norm_stats;
kernel::BatchNormElemt batch_norm_elemt;
kernel::BatchNormBackwardReduce batch_norm_backward_reduce;
kernel::BatchNormBackwardElemt batch_norm_backward_elemt;
kernel::MaxPoolForward max_pool_forward;
kernel::MaxPoolBackward max_pool_backward;
kernel::AvgPoolForward avg_pool_forward;
kernel::AvgPoolBackward avg_pool_backward;
kernel::ChannelScaleForward channel_scale_forward;
kernel::ChannelScaleBackward channel_scale_backward;
}  // namespace reference

}  // namespace rg::cpu
