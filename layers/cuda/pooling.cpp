// Average pooling on cuDNN (max pooling has its own kernels: layers/cuda/max_pool.cu).
#include "layers/cuda/cuda_layer_kernels.h"
#include "layers/cuda/cudnn_common.h"
#include "tensor/cuda/cuda_check.h"

namespace rg::cuda {

namespace {

constexpr cudnnPoolingMode_t kMode = CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING;  // padding counts as zeros

PoolDesc pool_desc(const WindowGeometry& g) {
  cudnnPoolingDescriptor_t d;
  RG_CUDNN_CHECK(cudnnCreatePoolingDescriptor(&d));
  PoolDesc owned(d);
  RG_CUDNN_CHECK(cudnnSetPooling2dDescriptor(d, kMode, CUDNN_PROPAGATE_NAN, int(g.kh), int(g.kw), int(g.ph), int(g.pw),
                                             int(g.sh), int(g.sw)));
  return owned;
}

}  // namespace

void avg_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g) {
  if (y.numel() == 0) return;
  DeviceGuard guard(x.device().index);
  const PoolDesc pd = pool_desc(g);
  const TensorDesc xd = tensor_desc(x), yd = tensor_desc(y);
  RG_CUDNN_CHECK(cudnnPoolingForward(cudnn_handle(x.device()), pd.get(), kOne.of(x.dtype()), xd.get(), x.data_ptr(),
                                     kZero.of(x.dtype()), yd.get(), y.data_ptr()));
}

// cuDNN's pooling backward takes the forward's x and y as well as gy. Average pooling's gradient
// depends on neither, and this kernel is not given them: gy stands in for y, and x is scratch of
// x's shape, never gx itself (cuDNN does not promise that an input may alias its output).
void avg_pool_backward(const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  if (gx.numel() == 0) return;
  check_contiguous(gy, "avg_pool2d backward", "gy");
  DeviceGuard guard(gy.device().index);
  const PoolDesc pd = pool_desc(g);
  const Tensor x = Tensor::empty(gx.shape(), gx.dtype(), gx.device());
  const TensorDesc xd = tensor_desc(x), gyd = tensor_desc(gy);
  RG_CUDNN_CHECK(cudnnPoolingBackward(cudnn_handle(gy.device()), pd.get(), kOne.of(gy.dtype()), gyd.get(),
                                      gy.data_ptr(), gyd.get(), gy.data_ptr(), xd.get(), x.data_ptr(),
                                      kZero.of(gy.dtype()), xd.get(), gx.data_ptr()));
}

}  // namespace rg::cuda
