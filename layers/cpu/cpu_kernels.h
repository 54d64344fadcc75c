// The CPU layer kernels, gathered into the tables of layers/kernels.h by layers/cpu/tables.cpp.
// Each has the signature and contract of its entry in LayerKernels.
#pragma once

#include <algorithm>

#include "layers/kernels.h"
#include "tensor/parallel.h"

namespace rg::cpu {

// How many items a parallel_for chunk takes at least when each costs `work` elements: about
// 32768 elements, below which a thread costs more than it saves.
inline int64_t grain_for(int64_t work) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(work, 1)); }

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

// Fast: conv.cpp, batch_norm.cpp, pooling.cpp, channel_scale.cpp.
void conv_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const WindowGeometry& g);
void conv_backward_data(const Tensor& weight, const Tensor& gy, Tensor& gx, const WindowGeometry& g);
void conv_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, Tensor* gb, const WindowGeometry& g);
void batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool relu, Tensor& y,
                      Tensor& mean, Tensor& invstd, Tensor& unbiased_var);
void batch_norm_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                     double eps, bool relu, Tensor& y);
void batch_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& gy, const Tensor& relu_y,
                         const Tensor& mean, const Tensor& invstd, double eps, Tensor& gx, Tensor* gw,
                         Tensor* gb);
void max_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g);
void max_pool_backward(const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx, const WindowGeometry& g);
void avg_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g);
void avg_pool_backward(const Tensor& gy, Tensor& gx, const WindowGeometry& g);
void channel_scale_forward(const Tensor& x, const Tensor& s, Tensor& y);
void channel_scale_backward(const Tensor& x, const Tensor& s, const Tensor& gy, Tensor* gx, Tensor* gs);

// The plain definitions: reference.cpp.
namespace reference {
void conv_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const WindowGeometry& g);
void conv_backward_data(const Tensor& weight, const Tensor& gy, Tensor& gx, const WindowGeometry& g);
void conv_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, Tensor* gb, const WindowGeometry& g);
void batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool relu, Tensor& y,
                      Tensor& mean, Tensor& invstd, Tensor& unbiased_var);
void batch_norm_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                     double eps, bool relu, Tensor& y);
void batch_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& gy, const Tensor& relu_y,
                         const Tensor& mean, const Tensor& invstd, double eps, Tensor& gx, Tensor* gw,
                         Tensor* gb);
void max_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g);
void max_pool_backward(const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx, const WindowGeometry& g);
void avg_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g);
void avg_pool_backward(const Tensor& gy, Tensor& gx, const WindowGeometry& g);
void channel_scale_forward(const Tensor& x, const Tensor& s, Tensor& y);
void channel_scale_backward(const Tensor& x, const Tensor& s, const Tensor& gy, Tensor* gx, Tensor* gs);
}  // namespace reference

}  // namespace rg::cpu
