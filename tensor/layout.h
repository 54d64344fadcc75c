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
  Shape shape;                     // at least one dim
  std::array<Strides, N> strides;  // one set per operand, same rank as shape
};

template <size_t N>
Layout<N> coalesce(const Shape& shape, const std::array<const Strides*, N>& strides) {
  Layout<N> out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !out.shape.empty();
    for (size_t k = 0; k < N && merge; ++k) merge = out.strides[k].back() == (*strides[k])[d] * shape[d];
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

// A reduction of x into out (x's rank, size 1 on reduced dims) seen as two loops: the kept dims
// index the outputs, the reduced dims are folded into each output.
struct ReductionLayout {
  Shape kept_shape, reduced_shape;
  Strides kept_strides, reduced_strides;  // x's strides along those dims
};

inline ReductionLayout split_reduction(const Shape& x_shape, const Strides& x_strides, const Shape& out_shape) {
  ReductionLayout r;
  for (size_t d = 0; d < x_shape.size(); ++d) {
    const bool reduced = out_shape[d] == 1 && x_shape[d] != 1;
    (reduced ? r.reduced_shape : r.kept_shape).push_back(x_shape[d]);
    (reduced ? r.reduced_strides : r.kept_strides).push_back(x_strides[d]);
  }
  return r;
}

}  // namespace rg
