#include "layers/conv2d.h"

#include "layers/kernels.h"
#include "layers/layer_common.h"

namespace rg {

using namespace detail;

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions opt) {
  RG_CHECK(x.dim() == 4, "conv2d: expected input [N, C, H, W], got ", shape_str(x.shape()));
  RG_CHECK(weight.dim() == 4, "conv2d: expected weight [O, C, KH, KW], got ", shape_str(weight.shape()));
  RG_CHECK(weight.size(1) == x.size(1), "conv2d: weight ", shape_str(weight.shape()), " expects ", weight.size(1),
           " input channels, the input ", shape_str(x.shape()), " has ", x.size(1));
  RG_CHECK(opt.stride > 0 && opt.dilation > 0 && opt.padding >= 0,
           "conv2d: need stride > 0, dilation > 0, padding >= 0");
  check_same_kind(x, weight, "conv2d", "the weight");
  if (bias.defined()) {
    check_same_kind(x, bias, "conv2d", "the bias");
    RG_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "conv2d: expected bias [", weight.size(0), "], got ",
             shape_str(bias.shape()));
  }
  const WindowGeometry g = window_geometry(x, weight.size(0), weight.size(2), weight.size(3), opt.stride, opt.padding,
                                           opt.dilation, "conv2d");
  const LayerKernels& kernels = layer_kernels_for(x.device());

  const Tensor xs = samples_contiguous(x), w = contiguous_untracked(weight),
               b = bias.defined() ? contiguous_untracked(bias) : bias;
  Tensor y = Tensor::empty({g.n, g.o, g.oh, g.ow}, x.dtype(), x.device());
  kernels.conv_forward(xs, w, b, y, g);

  return record("conv2d", y, {x, weight, bias},
                [xs = xs.detach(), w = w.detach(), g, &kernels](const Tensor& gy_in, const NeedsGrad& needs) -> Grads {
                  const Tensor gy = contiguous_untracked(gy_in);
                  Grads grads(3);
                  if (needs[0]) {
                    grads[0] = Tensor::empty({g.n, g.c, g.h, g.w}, xs.dtype(), xs.device());
                    kernels.conv_backward_data(w, gy, grads[0], g);
                  }
                  if (needs[1] || needs[2]) {  // one pass gives both
                    grads[1] = Tensor::empty(w.shape(), w.dtype(), w.device());
                    if (needs[2]) grads[2] = Tensor::empty({g.o}, w.dtype(), w.device());
                    kernels.conv_backward_filter(xs, gy, grads[1], needs[2] ? &grads[2] : nullptr, g);
                  }
                  return grads;
                });
}

}  // namespace rg
