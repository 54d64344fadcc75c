// Binary cross-entropy, plain and weighted (the notebook's section 3.1, Exercise 3).
//
// For predictions p = sigmoid(z) and labels y in {0, 1}, per element:
//   bce = -(y log(p + eps) + (1 - y) log(1 - p + eps))
// The weighted loss of the notebook: for each class c, the batch mean of
//   -(w_pos[c] y log(p + eps) + w_neg[c] (1 - y) log(1 - p + eps)),
// summed over the classes. With w_pos = freq_neg and w_neg = freq_pos (class_frequencies.h)
// positives and negatives contribute equally.
//
// A label that is NaN is missing (not annotated for the image, or uncertain and ignored): it
// contributes nothing — its gradient is exactly zero — and each class's mean is over its known
// labels. Without missing labels the result is the notebook's, bit for bit.
//
// The *_with_logits forms take z instead of p and use log sigmoid(z) = -softplus(-z),
// log(1 - sigmoid(z)) = -softplus(z), softplus(x) = max(x, 0) + log(1 + e^-|x|): exact and
// finite for any z (no epsilon needed). Training uses these.
#pragma once

#include "tensor/tensor.h"

namespace rg {

// p, y: [N, L] (or any equal shapes) -> scalar mean over all elements.
Tensor binary_cross_entropy(const Tensor& p, const Tensor& y, double eps = 1e-7);
Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y);

// p or z, y: [N, L]; w_pos, w_neg: [L] -> scalar: sum over classes of the batch mean.
Tensor weighted_loss(const Tensor& p, const Tensor& y, const Tensor& w_pos, const Tensor& w_neg, double eps = 1e-7);
Tensor weighted_loss_with_logits(const Tensor& z, const Tensor& y, const Tensor& w_pos, const Tensor& w_neg);

// log(1 + e^x), computed without overflow.
Tensor softplus(const Tensor& x);

}  // namespace rg
