#include "layers/conv2d.h"

#include "layers/layer_common.h"

namespace rg {

using namespace layers_detail;

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions opt) {
  RG_CHECK(x.dim() == 4, "conv2d: expected input [N, C, H, W], got ", shape_str(x.shape()));
  RG_CHECK(weight.dim() == 4, "conv2d: expected weight [O, C, KH, KW], got ", shape_str(weight.shape()));
  RG_CHECK(weight.size(1) == x.size(1), "conv2d: weight ", shape_str(weight.shape()), " expects ", weight.size(1),
           " input channels, the input ", shape_str(x.shape()), " has ", x.size(1));
  RG_CHECK(opt.stride > 0 && opt.dilation > 0 && opt.padding >= 0, "conv2d: need stride > 0, dilation > 0, padding >= 0");
  check_kind(x, weight, "conv2d", "the weight");
  if (bias.defined()) {
    check_kind(x, bias, "conv2d", "the bias");
    RG_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "conv2d: expected bias [", weight.size(0), "], got ",
             shape_str(bias.shape()));
  }
  require_cpu(x, "conv2d");
  Conv2dGeometry g{x.size(0), x.size(1), x.size(2), x.size(3), weight.size(0), weight.size(2), weight.size(3), 0, 0,
                   opt.stride, opt.stride, opt.padding, opt.padding, opt.dilation, opt.dilation};
  g.oh = (g.h + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh + 1;
  g.ow = (g.w + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw + 1;
  RG_CHECK(g.oh > 0 && g.ow > 0, "conv2d: input ", shape_str(x.shape()), " is smaller than the (dilated) kernel ",
           shape_str(weight.shape()), " with padding ", opt.padding);

  const Tensor xs = samples_contiguous(x), w = as_contiguous(weight), b = bias.defined() ? as_contiguous(bias) : bias;
  Tensor y = Tensor::empty({g.n, g.o, g.oh, g.ow}, x.dtype(), x.device());
  cpu::conv::forward(xs, w, b, y, g);

  return record("conv2d", y, {x, weight, bias},
                [xs = xs.detach(), w = w.detach(), has_bias = bias.defined(), x_shape = x.shape(), g](const Tensor& gy) -> Grads {
                  Tensor gx = Tensor::empty(x_shape, xs.dtype(), xs.device());
                  Tensor gw = Tensor::empty(w.shape(), w.dtype(), w.device());
                  Tensor gb = has_bias ? Tensor::empty({g.o}, w.dtype(), w.device()) : Tensor();
                  cpu::conv::backward(xs, w, as_contiguous(gy), &gx, &gw, has_bias ? &gb : nullptr, g);
                  return {gx, gw, gb};
                });
}

}  // namespace rg
