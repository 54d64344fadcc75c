#include "losses/bce.h"

#include "autograd/ops.h"
#include "losses/known_labels.h"

namespace rg {

namespace {

void check_pair(const Tensor& a, const Tensor& y, const char* op) {
  RG_CHECK(a.shape() == y.shape(), op, ": predictions ", shape_str(a.shape()), " and labels ", shape_str(y.shape()),
           " differ in shape");
}

void check_weights(const Tensor& p, const Tensor& w_pos, const Tensor& w_neg, const char* op) {
  RG_CHECK(p.dim() == 2, op, ": expected predictions [N, L], got ", shape_str(p.shape()));
  const Shape want{p.size(1)};
  RG_CHECK(w_pos.shape() == want && w_neg.shape() == want, op, ": expected class weights [", p.size(1), "], got ",
           shape_str(w_pos.shape()), " and ", shape_str(w_neg.shape()));
}

}  // namespace

Tensor softplus(const Tensor& x) { return relu(x) + log(1.0 + exp(-(relu(x) + relu(-x)))); }

Tensor binary_cross_entropy(const Tensor& p, const Tensor& y, double eps) {
  check_pair(p, y, "binary_cross_entropy");
  return mean(-(y * log(p + eps) + (1.0 - y) * log(1.0 - p + eps)));
}

Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y) {
  check_pair(z, y, "binary_cross_entropy_with_logits");
  return mean(y * softplus(-z) + (1.0 - y) * softplus(z));
}

Tensor weighted_loss(const Tensor& p, const Tensor& y, const Tensor& w_pos, const Tensor& w_neg, double eps) {
  check_pair(p, y, "weighted_loss");
  check_weights(p, w_pos, w_neg, "weighted_loss");
  // [N, L] -> mean over the batch's known labels [L] -> sum over classes.
  const KnownLabels k = known_labels(y);
  return sum(mean(k.known * -(w_pos * k.y * log(p + eps) + w_neg * (1.0 - k.y) * log(1.0 - p + eps)), {0}) * k.rescale);
}

Tensor weighted_loss_with_logits(const Tensor& z, const Tensor& y, const Tensor& w_pos, const Tensor& w_neg) {
  check_pair(z, y, "weighted_loss_with_logits");
  check_weights(z, w_pos, w_neg, "weighted_loss_with_logits");
  const KnownLabels k = known_labels(y);
  return sum(mean(k.known * (w_pos * k.y * softplus(-z) + w_neg * (1.0 - k.y) * softplus(z)), {0}) * k.rescale);
}

}  // namespace rg
