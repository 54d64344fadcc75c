#include "layers/squeeze_excite.h"

#include "layers/kernels.h"
#include "layers/layer_common.h"
#include "layers/pooling.h"

namespace rg {

using namespace detail;

Tensor channel_scale(const Tensor& x_in, const Tensor& s_in) {
  RG_CHECK(x_in.dim() == 4, "channel_scale: expected x [N, C, H, W], got ", shape_str(x_in.shape()));
  RG_CHECK(s_in.dim() == 2 && s_in.size(0) == x_in.size(0) && s_in.size(1) == x_in.size(1),
           "channel_scale: expected scales [", x_in.size(0), ", ", x_in.size(1), "] for x ", shape_str(x_in.shape()),
           ", got ", shape_str(s_in.shape()));
  check_same_kind(x_in, s_in, "channel_scale", "the scales");
  const LayerKernels& kernels = layer_kernels_for(x_in.device());
  const Tensor x = samples_contiguous(x_in), s = contiguous_untracked(s_in);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  kernels.channel_scale_forward(x, s, y);
  return record("channel_scale", y, {x_in, s_in},
                [x = x.detach(), s = s.detach(), &kernels](const Tensor& gy, const NeedsGrad& needs) -> Grads {
                  Grads grads(2);
                  if (needs[0]) grads[0] = Tensor::empty(x.shape(), x.dtype(), x.device());
                  if (needs[1]) grads[1] = Tensor::empty(s.shape(), s.dtype(), s.device());
                  kernels.channel_scale_backward(x, s, contiguous_untracked(gy), needs[0] ? &grads[0] : nullptr,
                                                 needs[1] ? &grads[1] : nullptr);
                  return grads;
                });
}

SqueezeExcite::SqueezeExcite(int64_t channels, int64_t reduction, Generator& gen) {
  RG_CHECK(reduction > 0 && channels >= reduction, "SqueezeExcite: need 0 < reduction <= channels, got ", reduction,
           " for ", channels, " channels");
  fc1 = register_module("fc1", std::make_shared<Linear>(channels, channels / reduction, gen));
  fc2 = register_module("fc2", std::make_shared<Linear>(channels / reduction, channels, gen));
}

Tensor SqueezeExcite::forward(const Tensor& x) const {
  const Tensor squeezed = global_avg_pool2d(x);                             // [N, C]
  const Tensor gate = sigmoid(fc2->forward(relu(fc1->forward(squeezed))));  // [N, C]
  return channel_scale(x, gate);
}

}  // namespace rg
