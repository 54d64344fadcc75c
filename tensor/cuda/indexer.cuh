// Indexer<N>: the coalesced layout of N operands (tensor/layout.h) packed into a struct that is
// passed to a kernel by value, so each thread can turn its element index into N offsets.
#pragma once

#include "tensor/layout.h"

namespace rg::cuda {

constexpr int kMaxDims = 8;

template <size_t N>
struct Indexer {
  int rank;
  int64_t shape[kMaxDims];
  int64_t strides[N][kMaxDims];

  __device__ void offsets(int64_t linear, int64_t (&off)[N]) const {
    if (rank == 1) {  // the common case after coalescing (contiguous operands): no division
      for (size_t k = 0; k < N; ++k) off[k] = linear * strides[k][0];
      return;
    }
    for (size_t k = 0; k < N; ++k) off[k] = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t coord = linear % shape[d];
      linear /= shape[d];
      for (size_t k = 0; k < N; ++k) off[k] += coord * strides[k][d];
    }
  }
};

template <size_t N>
Indexer<N> make_indexer(const Layout<N>& layout, const char* op) {
  RG_CHECK(layout.shape.size() <= size_t(kMaxDims), op, " on CUDA: at most ", kMaxDims,
           " non-mergeable dims are supported, got ", layout.shape.size());
  Indexer<N> ix{};
  ix.rank = int(layout.shape.size());
  for (int d = 0; d < ix.rank; ++d) {
    ix.shape[d] = layout.shape[d];
    for (size_t k = 0; k < N; ++k) ix.strides[k][d] = layout.strides[k][d];
  }
  return ix;
}

// A grid-stride loop: each thread takes elements i, i + (all threads), ... of [0, n), with 64-bit
// indices. Launch it with grid_for(n) blocks.
#define RG_GRID_STRIDE_LOOP(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// Enough blocks of 256 threads for a grid-stride loop over n elements.
inline unsigned grid_for(int64_t n) {
  const int64_t blocks = (n + 255) / 256;
  return unsigned(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096);
}

}  // namespace rg::cuda
