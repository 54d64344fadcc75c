// Class frequencies and the weights that balance them (the notebook's section 3.1).
//
// With N examples and labels y[i, c] in {0, 1}:
//   freq_pos[c] = (1/N) sum_i y[i, c]          freq_neg[c] = 1 - freq_pos[c]
// Weighting each positive by w_pos = freq_neg and each negative by w_neg = freq_pos makes the
// two classes contribute equally to the loss: w_pos * freq_pos = w_neg * freq_neg. Missing labels
// (NaN: losses/known_labels.h) are not counted: N is each class's count of known labels.
#pragma once

#include "tensor/tensor.h"

namespace rg {

struct ClassFrequencies {
  Tensor positive;  // [L]
  Tensor negative;  // [L]
};

// labels: [N, L] of 0/1 values.
ClassFrequencies compute_class_freqs(const Tensor& labels);

struct ClassWeights {
  Tensor positive;  // [L] = freq.negative
  Tensor negative;  // [L] = freq.positive
};

ClassWeights class_weights(const ClassFrequencies& freq);

}  // namespace rg
