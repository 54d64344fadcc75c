// How the fast CPU kernels walk tensors of any layout.
//
// 1. coalesce() (tensor/layout.h) merges the dims the operands step through evenly.
// 2. for_each_run(): visit a range of row-major indices as runs along the last dim, handing
//    the body each operand's offset at the start of the run. The body then runs a tight loop,
//    which the compiler vectorizes when the inner strides are 1.
// 3. parallel_runs(): split the whole index range into contiguous chunks over the thread pool
//    (tensor/parallel.h).
#pragma once

#include <array>
#include <cstdint>

#include "tensor/layout.h"
#include "tensor/parallel.h"

namespace rg::cpu {

// body(const std::array<int64_t, N>& offsets, int64_t count): a run of `count` elements along
// the last dim; operand k's elements are at offsets[k] + j * layout.strides[k].back().
template <size_t N, typename Body>
void for_each_run(const Layout<N>& layout, int64_t begin, int64_t end, Body&& body) {
  if (begin >= end) return;  // nothing to visit (and a dim of size 0 has no coordinates)
  const int64_t rank = static_cast<int64_t>(layout.shape.size());
  const int64_t inner = layout.shape.back();
  // Coordinates of `begin`.
  Shape coord(rank);
  int64_t rest = begin;
  for (int64_t d = rank - 1; d >= 0; --d) {
    coord[d] = rest % layout.shape[d];
    rest /= layout.shape[d];
  }
  std::array<int64_t, N> offsets{};
  for (size_t k = 0; k < N; ++k)
    for (int64_t d = 0; d < rank; ++d) offsets[k] += coord[d] * layout.strides[k][d];

  int64_t i = begin;
  while (i < end) {
    const int64_t count = std::min(inner - coord[rank - 1], end - i);
    body(offsets, count);
    i += count;
    // Advance to the next run: step the last dim by `count`, carrying into outer dims.
    for (size_t k = 0; k < N; ++k) offsets[k] += count * layout.strides[k][rank - 1];
    coord[rank - 1] += count;
    for (int64_t d = rank - 1; d > 0 && coord[d] == layout.shape[d]; --d) {
      for (size_t k = 0; k < N; ++k) offsets[k] += layout.strides[k][d - 1] - layout.shape[d] * layout.strides[k][d];
      coord[d] = 0;
      ++coord[d - 1];
    }
  }
}

template <size_t N, typename Body>
void parallel_runs(const Layout<N>& layout, Body&& body) {
  parallel_for(numel(layout.shape), kParallelGrain,
               [&](int64_t begin, int64_t end) { for_each_run(layout, begin, end, body); });
}

}  // namespace rg::cpu
