// coalesce(): merge neighbouring dims that every operand steps through evenly, and drop dims of
// size 1. A contiguous tensor becomes one long dim; a transposed one stays 2-D. Elementwise
// kernels on every device loop over the coalesced layout: fewer dims, longer inner runs.
#pragma once

#include <array>
#include <cstdint>

#include "tensor/shape.h"

namespace rg {

template <size_t N>
struct Layout {
  Shape shape;                   // at least one dim
  std::array<Strides, N> strides;  // one set per operand, same rank as shape
};

template <size_t N>
Layout<N> coalesce(const Shape& shape, const std::array<const Strides*, N>& strides) {
  Layout<N> out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !out.shape.empty();
    for (size_t k = 0; k < N && merge; ++k)
      merge = out.strides[k].back() == (*strides[k])[d] * shape[d];
    if (merge) {
      out.shape.back() *= shape[d];
      for (size_t k = 0; k < N; ++k) out.strides[k].back() = (*strides[k])[d];
    } else {
      out.shape.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) out.strides[k].push_back((*strides[k])[d]);
    }
  }
  if (out.shape.empty()) {  // every dim had size 1: a single element
    out.shape.push_back(1);
    for (size_t k = 0; k < N; ++k) out.strides[k].push_back(1);
  }
  return out;
}

}  // namespace rg
