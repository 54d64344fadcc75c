// The geometry of a sliding window over [N, C, H, W] — shared by convolution and pooling.
//
//   output (i, j) reads input rows  i*sh + p*dh - ph  for p in [0, kh)
//                        columns    j*sw + q*dw - pw  for q in [0, kw)
//   out size: oh = (h + 2 ph - dh (kh - 1) - 1) / sh + 1   (and the same for ow)
//
// Positions outside [0, h) x [0, w) are padding: zeros for convolution and average pooling,
// never the maximum for max pooling.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace rg {

struct WindowGeometry {
  int64_t n, c, h, w;  // input [N, C, H, W]
  int64_t o;           // output channels: the filters of a convolution, C for pooling
  int64_t kh, kw;      // window
  int64_t oh, ow;      // output [N, O, OH, OW]
  int64_t sh, sw, ph, pw, dh, dw;
};

inline int64_t window_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  return (in + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;
}

// The geometry of a window (kh, kw) with square stride, padding and dilation over x [N, C, H, W],
// with `o` output channels. Checks that the output is not empty; `op` names the caller in errors.
inline WindowGeometry window_geometry(const Tensor& x, int64_t o, int64_t kh, int64_t kw, int64_t stride,
                                      int64_t padding, int64_t dilation, const char* op) {
  WindowGeometry g{x.size(0), x.size(1), x.size(2), x.size(3), o,       kh,       kw,      0,
                   0,         stride,    stride,    padding,   padding, dilation, dilation};
  g.oh = window_output_size(g.h, kh, stride, padding, dilation);
  g.ow = window_output_size(g.w, kw, stride, padding, dilation);
  RG_CHECK(g.oh > 0 && g.ow > 0, op, ": input ", shape_str(x.shape()), " is smaller than the (dilated) kernel ", kh,
           "x", kw, " with padding ", padding);
  return g;
}

}  // namespace rg
