// Missing labels: a label that is NaN was not annotated for that image (or was uncertain and is
// ignored). The loss and the class frequencies count only the known ones.
#pragma once

#include "tensor/tensor.h"

namespace rg {

struct KnownLabels {
  Tensor y;        // [N, L] the labels, missing ones as 0
  Tensor known;    // [N, L] 1 where a label is known, 0 where it is missing
  Tensor rescale;  // [L] N over the known count (at least 1)
};

// Exactly 1 in `rescale` when no label of a class is missing, so that mean(known * x, {0}) *
// rescale is the plain batch mean to the bit, and otherwise the mean over the known labels.
// Not differentiable (labels take no gradient).
KnownLabels known_labels(const Tensor& labels);

}  // namespace rg
