// The CPU's convolution algorithms beside im2col (conv.cpp), and the choice between them.
//
// Each works on a group of `count` samples of x, `x_stride` apart (each sample [C, H, W]
// contiguous), writing y's samples contiguously [count, O, OH, OW]:
//   Direct (conv_direct.cpp), stride 1: the samples are copied once, padded, side by side into
//     P [C, count*Hp*Wp] (Hp = H + 2 ph, Wp = W + 2 pw). Output (i, j) of a sample at column
//     s = i*Wp + j of its block reads P at column s + p*dh*Wp + q*dw for kernel position (p, q),
//     so each kernel position is one GEMM over a shifted view of P: no columns are built
//     (im2col writes and reads KH*KW copies of the input). The columns with j >= OW (or i >= OH)
//     compute values nobody reads; they are dropped. The filter gradient shifts gy instead, into
//     KH*KW*O rows, and is one GEMM with P.
//   Winograd (conv_winograd.cpp), 3x3, stride 1, no dilation: F(2x2, 3x3). Every 4x4 input tile
//     and every 3x3 filter is transformed (B^T d B, G g G^T), the 16 transformed positions are
//     16 GEMMs [O, C] x [C, tiles], and each 2x2 output tile is A^T m A: 16 multiplies per 4
//     outputs instead of 36.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "layers/conv_settings.h"
#include "layers/kernels.h"

namespace rg::cpu {

enum class ConvPass { Forward, BackwardData, BackwardFilter };

// The algorithm that computes `pass` of the convolution `g`: conv_settings().cpu_algo when it
// applies to the shape, else auto's choice (never Auto itself). A function of the shape and the
// setting only: a run computes the same way every time.
CpuConvAlgo conv_algorithm(const WindowGeometry& g, ConvPass pass);

bool direct_applies(const WindowGeometry& g);    // stride 1 and not 1x1 unpadded (a plain GEMM already)
bool winograd_applies(const WindowGeometry& g);  // 3x3, stride 1, dilation 1, padding <= 2

// A per-thread buffer of at least `count` elements, kept for the next call (slots 0-3: 0 and 1
// for im2col's columns and gathers, 2 and 3 for the other algorithms).
template <typename T>
T* scratch(int slot, int64_t count) {
  thread_local std::vector<T> buffers[4];
  std::vector<T>& b = buffers[slot];
  if (int64_t(b.size()) < count) b.resize(size_t(count));
  return b.data();
}

// y [N, O, OH, OW] = conv(x, w) for x's samples x_stride apart, w [O, C, KH, KW].
template <typename T>
void direct_forward(const T* x, int64_t x_stride, const T* w, T* y, const WindowGeometry& g);
template <typename T>
void winograd_forward(const T* x, int64_t x_stride, const T* w, T* y, const WindowGeometry& g);
// gw [O, C, KH, KW] = the filter gradient from x and gy [N, O, OH, OW] (both samples strided).
template <typename T>
void direct_backward_filter(const T* x, int64_t x_stride, const T* gy, int64_t gy_stride, T* gw, const WindowGeometry& g);

}  // namespace rg::cpu
