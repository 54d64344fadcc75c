// Max and average pooling on cuDNN.
#include "layers/cuda/cuda_layer_kernels.h"
#include "layers/cuda/cudnn_common.h"
#include "tensor/cuda/cuda_check.h"

namespace rg::cuda {

namespace {

// Max: the deterministic mode, NaN propagated (as on the CPU). Average: padding counts as zeros.
PoolDesc pool_desc(cudnnPoolingMode_t mode, const WindowGeometry& g) {
  cudnnPoolingDescriptor_t d;
  RG_CUDNN_CHECK(cudnnCreatePoolingDescriptor(&d));
  PoolDesc owned(d);
  RG_CUDNN_CHECK(cudnnSetPooling2dDescriptor(d, mode, CUDNN_PROPAGATE_NAN, int(g.kh), int(g.kw), int(g.ph), int(g.pw),
                                             int(g.sh), int(g.sw)));
  return owned;
}

void forward(cudnnPoolingMode_t mode, const Tensor& x, Tensor& y, const WindowGeometry& g) {
  DeviceGuard guard(x.device().index);
  const PoolDesc pd = pool_desc(mode, g);
  const TensorDesc xd = tensor_desc(x), yd = tensor_desc(y);
  RG_CUDNN_CHECK(cudnnPoolingForward(cudnn_handle(x.device()), pd.get(), kOne.of(x.dtype()), xd.get(), x.data_ptr(),
                                     kZero.of(x.dtype()), yd.get(), y.data_ptr()));
}

// cuDNN's pooling backward reads x and y for both modes (average pooling ignores their values).
void backward(cudnnPoolingMode_t mode, const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx,
              const WindowGeometry& g) {
  DeviceGuard guard(gy.device().index);
  const PoolDesc pd = pool_desc(mode, g);
  const TensorDesc xd = tensor_desc(x), yd = tensor_desc(y), gyd = tensor_desc(gy), gxd = tensor_desc(gx);
  RG_CUDNN_CHECK(cudnnPoolingBackward(cudnn_handle(gy.device()), pd.get(), kOne.of(gy.dtype()), yd.get(), y.data_ptr(),
                                      gyd.get(), gy.data_ptr(), xd.get(), x.data_ptr(), kZero.of(gy.dtype()), gxd.get(),
                                      gx.data_ptr()));
}

}  // namespace

void max_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g) {
  forward(CUDNN_POOLING_MAX_DETERMINISTIC, x, y, g);
}
void max_pool_backward(const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  backward(CUDNN_POOLING_MAX_DETERMINISTIC, x, y, gy, gx, g);
}
void avg_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g) {
  forward(CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, x, y, g);
}
// Average pooling's gradient does not depend on x or y: gx and gy stand in for them.
void avg_pool_backward(const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  backward(CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, gx, gy, gy, gx, g);
}

}  // namespace rg::cuda
