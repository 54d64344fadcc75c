// The CPU's convolution algorithms, as peers in one table (conv.cpp's conv_algorithms()), and the
// choice between them. Every algorithm computes all N samples of a pass; x's and gy's samples may
// lie any stride apart (each sample [C, H, W] contiguous); outputs are contiguous.
//   im2col (conv_im2col.cpp), any geometry: the columns of every window position, then one GEMM.
//   direct (conv_direct.cpp), stride 1: the samples are copied once, padded, side by side into
//     P [C, count*Hp*Wp] (Hp = H + 2 ph, Wp = W + 2 pw). Output (i, j) of a sample at column
//     s = i*Wp + j of its block reads P at column s + p*dh*Wp + q*dw for kernel position (p, q),
//     so each kernel position is one GEMM over a shifted view of P: no columns are built
//     (im2col writes and reads KH*KW copies of the input). The columns with j >= OW (or i >= OH)
//     compute values nobody reads; they are dropped. The filter gradient shifts gy instead, into
//     KH*KW*O rows, and is one GEMM with P.
//   winograd (conv_winograd.cpp), 3x3, stride 1, no dilation: F(2x2, 3x3). Every 4x4 input tile
//     and every 3x3 filter is transformed (B^T d B, G g G^T), the 16 transformed positions are
//     16 GEMMs [O, C] x [C, tiles], and each 2x2 output tile is A^T m A: 16 multiplies per 4
//     outputs instead of 36. Forward and input gradient only.
// With stride 1 the input gradient is itself a convolution of gy (backward_data_by_conv), so an
// algorithm's forward serves its backward_data too.
//
// Adding an algorithm: write its three passes (nullptr for a pass it does not do) and `applies` in
// its own file, add its entry to conv_algorithms() and, where it wins, to auto's preference lists
// (conv.cpp); parsing, --conv-algo's usage, the tests and bench_layers read the table
// (docs/extending.md, "A new convolution algorithm").
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "layers/conv_settings.h"
#include "layers/kernels.h"

namespace rg::cpu {

enum class ConvPass { Forward, BackwardData, BackwardFilter };

template <typename T>
struct ConvAlgorithm {
  const char* name;
  // Whether it computes `pass` of the convolution `g`.
  bool (*applies)(const WindowGeometry& g, ConvPass pass);
  // y [N, O, OH, OW] = conv(x, w), w [O, C, KH, KW].
  void (*forward)(const T* x, int64_t x_stride, const T* w, T* y, const WindowGeometry& g);
  // gx [N, C, H, W] = the input gradient from gy [N, O, OH, OW].
  void (*backward_data)(const T* w, const T* gy, int64_t gy_stride, T* gx, const WindowGeometry& g);
  // gw [O, C, KH, KW] = the filter gradient from x and gy.
  void (*backward_filter)(const T* x, int64_t x_stride, const T* gy, int64_t gy_stride, T* gw, const WindowGeometry& g);
};

// Every algorithm, in the order --conv-algo lists them (conv.cpp).
template <typename T>
const std::vector<ConvAlgorithm<T>>& conv_algorithms();

// The algorithm that computes `pass` of `g`: conv_settings().cpu_algo when it applies to the
// shape, else auto's choice. A function of the shape and the setting only: a run computes the
// same way every time.
std::string_view conv_algorithm(const WindowGeometry& g, ConvPass pass);

// The entries of the three files, for the table.
template <typename T>
ConvAlgorithm<T> im2col_algorithm();
template <typename T>
ConvAlgorithm<T> direct_algorithm();
template <typename T>
ConvAlgorithm<T> winograd_algorithm();

// A 1x1, stride-1, unpadded convolution: a plain GEMM of each sample, no columns needed.
inline bool is_pointwise(const WindowGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

// Whether the input gradient of `g` is a convolution of gy: stride 1, padding at most the
// kernel's reach, and not a 1x1 unpadded convolution (whose gradient is a plain GEMM).
bool can_backward_data_by_conv(const WindowGeometry& g);
// gx [N, C, H, W] as a convolution of gy [N, O, OH, OW] by `forward`, with the filters transposed
// (o <-> c) and flipped (p -> KH-1-p, q -> KW-1-q), padded by (KH-1)*dh - ph.
template <typename T>
void backward_data_by_conv(decltype(ConvAlgorithm<T>::forward) forward, const T* w, const T* gy, int64_t gy_stride,
                           T* gx, const WindowGeometry& g);
// An algorithm's backward_data entry when its own forward computes it:
//   .backward_data = backward_data_as_conv<T, forward<T>>
template <typename T, decltype(ConvAlgorithm<T>::forward) Forward>
void backward_data_as_conv(const T* w, const T* gy, int64_t gy_stride, T* gx, const WindowGeometry& g) {
  backward_data_by_conv<T>(Forward, w, gy, gy_stride, gx, g);
}

// The samples one group takes: about `target` positions of `per_sample` each, at least one, at
// most the batch. Each algorithm computes a group of samples side by side with one GEMM per step,
// so that the small maps of a deep layer still make GEMMs wide enough to run near the machine's peak.
inline int64_t samples_per_group(int64_t target, int64_t per_sample, int64_t n) {
  return std::clamp<int64_t>(target / std::max<int64_t>(per_sample, 1), 1, n);
}

// Per-thread buffers, kept from call to call: one slot per use. Their bytes come from the CPU
// allocator, so memory_stats (tensor/allocator.h) counts them, current and peak, like a tensor's.
enum class Scratch {
  Columns,     // im2col's column matrix (and its input gradient's)
  Gathered,    // im2col's samples of gy (or of y) side by side
  Working,     // Direct's padded copy and Winograd's transformed tiles
  Filters,     // Direct's and Winograd's rearranged or transformed filters
  TilePlane,   // Winograd's padded input plane, in each worker
  TileOutput,  // Winograd's output rows, in each worker
  Count
};
template <typename T>
T* scratch(Scratch slot, int64_t count) {
  thread_local Tensor buffers[int(Scratch::Count)];
  Tensor& b = buffers[int(slot)];
  if (!b.defined() || b.numel() < count) b = Tensor::empty({count}, dtype_of<T>(), Device::cpu());
  return b.data<T>();
}

}  // namespace rg::cpu
