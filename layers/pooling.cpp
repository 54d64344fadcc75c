#include "layers/pooling.h"

#include "layers/kernels.h"
#include "layers/layer_common.h"

namespace rg {

using namespace detail;

namespace {

WindowGeometry pool_geometry(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, const char* op) {
  RG_CHECK(x.dim() == 4, op, ": expected input [N, C, H, W], got ", shape_str(x.shape()));
  RG_CHECK(kernel > 0 && stride > 0 && padding >= 0 && 2 * padding <= kernel, op,
           ": need kernel > 0, stride > 0 and 0 <= padding <= kernel / 2 (got kernel ", kernel, ", stride ", stride,
           ", padding ", padding, ")");
  return window_geometry(x, x.size(1), kernel, kernel, stride, padding, 1, op);
}

}  // namespace

Tensor max_pool2d(const Tensor& x_in, int64_t kernel, int64_t stride, int64_t padding) {
  const WindowGeometry g = pool_geometry(x_in, kernel, stride, padding, "max_pool2d");
  const LayerKernels& kernels = layer_kernels_for(x_in.device());
  const Tensor x = samples_contiguous(x_in);
  Tensor y = Tensor::empty({g.n, g.c, g.oh, g.ow}, x.dtype(), x.device());
  kernels.max_pool_forward(x, y, g);
  return record("max_pool2d", y, {x_in}, [x = x.detach(), y = y.detach(), g, &kernels](const Tensor& gy) -> Grads {
    Tensor gx = Tensor::empty({g.n, g.c, g.h, g.w}, x.dtype(), x.device());
    kernels.max_pool_backward(x, y, contiguous_untracked(gy), gx, g);
    return {gx};
  });
}

Tensor avg_pool2d(const Tensor& x_in, int64_t kernel, int64_t stride, int64_t padding) {
  return avg_pool_window(x_in, pool_geometry(x_in, kernel, stride, padding, "avg_pool2d"));
}

// The average over each whole [H, W] plane: an average pool whose window is the plane.
Tensor global_avg_pool2d(const Tensor& x) {
  RG_CHECK(x.dim() == 4, "global_avg_pool2d: expected input [N, C, H, W], got ", shape_str(x.shape()));
  const WindowGeometry g = window_geometry(x, x.size(1), x.size(2), x.size(3), 1, 0, 1, "global_avg_pool2d");
  return reshape(avg_pool_window(x, g), {x.size(0), x.size(1)});
}

Tensor avg_pool_window(const Tensor& x_in, const WindowGeometry& g) {
  const LayerKernels& kernels = layer_kernels_for(x_in.device());
  const Tensor x = samples_contiguous(x_in);
  Tensor y = Tensor::empty({g.n, g.c, g.oh, g.ow}, x.dtype(), x.device());
  kernels.avg_pool_forward(x, y, g);
  return record("avg_pool2d", y, {x_in},
                [g, dtype = x.dtype(), device = x.device(), &kernels](const Tensor& gy) -> Grads {
                  Tensor gx = Tensor::empty({g.n, g.c, g.h, g.w}, dtype, device);
                  kernels.avg_pool_backward(contiguous_untracked(gy), gx, g);
                  return {gx};
                });
}

}  // namespace rg
