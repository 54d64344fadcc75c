#include "losses/class_frequencies.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "losses/known_labels.h"

namespace rg {

ClassFrequencies compute_class_freqs(const Tensor& labels) {
  RG_CHECK(labels.dim() == 2 && labels.size(0) > 0, "compute_class_freqs: expected labels [N, L] with N > 0, got ",
           shape_str(labels.shape()));
  NoGradGuard no_grad;
  const KnownLabels k = known_labels(labels);
  Tensor positive = mean(k.y, {0}) * k.rescale;
  return {positive, 1.0 - positive};
}

ClassWeights class_weights(const ClassFrequencies& freq) { return {freq.negative, freq.positive}; }

}  // namespace rg
