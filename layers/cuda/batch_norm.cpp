// Batch norm on cuDNN (spatial mode: one mean and variance per channel over N, H, W).
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "layers/cuda/cuda_layer_kernels.h"
#include "layers/cuda/cudnn_common.h"
#include "tensor/backend.h"
#include "tensor/cuda/cuda_check.h"

namespace rg::cuda {

namespace {

constexpr cudnnBatchNormMode_t kMode = CUDNN_BATCHNORM_SPATIAL;

// cuDNN always takes a scale and a bias: ones and zeros stand in for a missing affine transform.
Tensor or_filled(const Tensor& t, int64_t channels, double value, const Tensor& like) {
  if (t.defined()) return t;
  Tensor filled = Tensor::empty({channels}, like.dtype(), like.device());
  filled.fill_(value);
  return filled;
}

// The descriptor of the per-channel tensors (scale, bias, mean, variance) that goes with x's.
TensorDesc channel_desc(const TensorDesc& x) {
  cudnnTensorDescriptor_t d;
  RG_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d));
  TensorDesc owned(d);
  RG_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(d, x.get(), kMode));
  return owned;
}

// The fused ReLU, after cuDNN's batch norm: one more elementwise kernel, in place.
void relu_in_place(Tensor& y) { backend_for(y.device()).unary(UnaryOp::Relu, y, y, 0, 0); }

// cuDNN's batch norm wants x, y, dy and dx in one layout; y, dy and dx are packed, so a channel
// prefix of a dense block's buffer (a larger batch stride) is copied into packed scratch first.
// The copy costs one read and write of x, little beside the convolutions around it.
Tensor packed(const Tensor& x) { return contiguous_untracked(x); }

void check_eps(double eps) {
  RG_CHECK(eps >= CUDNN_BN_MIN_EPSILON, "batch_norm on cuDNN: eps ", eps, " is below cuDNN's minimum ",
           CUDNN_BN_MIN_EPSILON);
}

}  // namespace

void batch_norm_train(const Tensor& x_in, const Tensor& weight, const Tensor& bias, double eps, bool relu, Tensor& y,
                      Tensor& mean, Tensor& invstd, Tensor& unbiased_var) {
  check_eps(eps);
  DeviceGuard guard(x_in.device().index);
  const Tensor x = packed(x_in);
  const int64_t c = x.size(1);
  const TensorDesc xd = tensor_desc(x), cd = channel_desc(xd);
  // With an averaging factor of 1, cuDNN's "running" statistics are this batch's mean and
  // unbiased variance: exactly what the caller's running update needs. cuDNN still reads them
  // (new * 1 + old * 0), and 0 * NaN is NaN: they start as zeros, never as a reused block's bytes.
  Tensor batch_mean = Tensor::empty({c}, x.dtype(), x.device());
  batch_mean.fill_(0);
  unbiased_var.fill_(0);
  RG_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
      cudnn_handle(x.device()), kMode, kOne.of(x.dtype()), kZero.of(x.dtype()), xd.get(), x.data_ptr(), xd.get(),
      y.data_ptr(), cd.get(), or_filled(weight, c, 1, x).data_ptr(), or_filled(bias, c, 0, x).data_ptr(), 1.0,
      batch_mean.data_ptr(), unbiased_var.data_ptr(), eps, mean.data_ptr(), invstd.data_ptr()));
  if (relu) relu_in_place(y);
}

void batch_norm_eval(const Tensor& x_in, const Tensor& weight, const Tensor& bias, const Tensor& mean,
                     const Tensor& var, double eps, bool relu, Tensor& y) {
  check_eps(eps);
  if (x_in.numel() == 0) return;
  DeviceGuard guard(x_in.device().index);
  const Tensor x = packed(x_in);
  const int64_t c = x.size(1);
  const TensorDesc xd = tensor_desc(x), cd = channel_desc(xd);
  RG_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(
      cudnn_handle(x.device()), kMode, kOne.of(x.dtype()), kZero.of(x.dtype()), xd.get(), x.data_ptr(), xd.get(),
      y.data_ptr(), cd.get(), or_filled(weight, c, 1, x).data_ptr(), or_filled(bias, c, 0, x).data_ptr(),
      mean.data_ptr(), var.data_ptr(), eps));
  if (relu) relu_in_place(y);
}

void batch_norm_backward(const Tensor& x_in, const Tensor& weight, const Tensor& gy_in, const Tensor& relu_y,
                         const Tensor& mean, const Tensor& invstd, double eps, Tensor& gx, Tensor* gw, Tensor* gb) {
  check_contiguous(gy_in, "batch_norm backward", "gy");
  DeviceGuard guard(x_in.device().index);
  NoGradGuard no_grad;
  const Tensor x = packed(x_in);
  // After a fused ReLU: the gradient only where its output was positive (tensor ops on the GPU).
  const Tensor gy = relu_y.defined() ? gy_in * gt(relu_y, scalar_like(relu_y, 0)) : gy_in;
  const int64_t c = x.size(1);
  const TensorDesc xd = tensor_desc(x), cd = channel_desc(xd);
  // cuDNN always writes both parameter gradients: scratch where one is not wanted.
  Tensor gw_out = gw ? *gw : Tensor::empty({c}, x.dtype(), x.device());
  Tensor gb_out = gb ? *gb : Tensor::empty({c}, x.dtype(), x.device());
  // x, gy and gx share one packed layout, so one descriptor ("same desc for x, dx, dy").
  RG_CUDNN_CHECK(cudnnBatchNormalizationBackward(cudnn_handle(x.device()), kMode, kOne.of(x.dtype()),
                                                 kZero.of(x.dtype()), kOne.of(x.dtype()), kZero.of(x.dtype()), xd.get(),
                                                 x.data_ptr(), xd.get(), gy.data_ptr(), xd.get(), gx.data_ptr(),
                                                 cd.get(), or_filled(weight, c, 1, x).data_ptr(), gw_out.data_ptr(),
                                                 gb_out.data_ptr(), eps, mean.data_ptr(), invstd.data_ptr()));
}

}  // namespace rg::cuda
