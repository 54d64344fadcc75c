#include <cstdint>
#include <mutex>
#include <vector>

#include "layers/cuda/cudnn_common.h"
#include "tensor/cuda/cuda_check.h"

namespace rg::cuda {

cudnnDataType_t cudnn_dtype(DType dtype) {
  RG_CHECK(dtype == DType::Float32 || dtype == DType::Float64, "cuDNN: layers take float32 or float64 tensors, got ",
           dtype);
  return dtype == DType::Float64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
}

TensorDesc tensor_desc(DType dtype, int64_t n, int64_t c, int64_t h, int64_t w, int64_t sn, int64_t sc, int64_t sh,
                       int64_t sw) {
  int64_t size[4] = {n, c, h, w}, stride[4] = {sn, sc, sh, sw};
  // A dim of size 1 never steps, so its stride is free; cuDNN is stricter than that and wants the
  // stride a packed tensor would have (PyTorch's fixSizeOneDimStride does the same).
  for (int64_t d = 3, packed = 1; d >= 0; --d) {
    if (size[d] == 1) stride[d] = packed;
    packed = size[d] * stride[d];
  }
  int64_t span = 1;  // the elements from the first to the last, both included
  for (int d = 0; d < 4; ++d) {
    RG_CHECK(size[d] >= 1 && size[d] <= INT32_MAX && stride[d] >= 0 && stride[d] <= INT32_MAX, "cuDNN: a [", n, ", ", c,
             ", ", h, ", ", w,
             "] tensor: cuDNN takes sizes from 1 and strides from 0, both "
             "up to 2^31 - 1, got size ",
             size[d], " with stride ", stride[d]);
    span += (size[d] - 1) * stride[d];
  }
  RG_CHECK(span <= INT32_MAX, "cuDNN: a [", n, ", ", c, ", ", h, ", ", w, "] tensor spans ", span,
           " elements, more than cuDNN's 32-bit indexing reaches (2^31 - 1): use a smaller batch");
  cudnnTensorDescriptor_t d;
  RG_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d));
  TensorDesc owned(d);
  RG_CUDNN_CHECK(cudnnSetTensor4dDescriptorEx(d, cudnn_dtype(dtype), int(n), int(c), int(h), int(w), int(stride[0]),
                                              int(stride[1]), int(stride[2]), int(stride[3])));
  return owned;
}

TensorDesc tensor_desc(const Tensor& t) {
  RG_CHECK(t.dim() == 4 || t.dim() == 2, "cuDNN: expected a [N, C, H, W] or [N, C] tensor, got ", shape_str(t.shape()));
  const auto& s = t.strides();
  if (t.dim() == 2) return tensor_desc(t.dtype(), t.size(0), t.size(1), 1, 1, s[0], s[1], 1, 1);
  return tensor_desc(t.dtype(), t.size(0), t.size(1), t.size(2), t.size(3), s[0], s[1], s[2], s[3]);
}

FilterDesc filter_desc(DType dtype, int64_t o, int64_t c, int64_t kh, int64_t kw) {
  cudnnFilterDescriptor_t d;
  RG_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d));
  FilterDesc owned(d);
  RG_CUDNN_CHECK(
      cudnnSetFilter4dDescriptor(d, cudnn_dtype(dtype), CUDNN_TENSOR_NCHW, int(o), int(c), int(kh), int(kw)));
  return owned;
}

ConvDesc conv_desc(DType dtype, int64_t ph, int64_t pw, int64_t sh, int64_t sw, int64_t dh, int64_t dw) {
  cudnnConvolutionDescriptor_t d;
  RG_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d));
  ConvDesc owned(d);
  // CROSS_CORRELATION: what every framework calls convolution (no kernel flip).
  RG_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d, int(ph), int(pw), int(sh), int(sw), int(dh), int(dw),
                                                 CUDNN_CROSS_CORRELATION, cudnn_dtype(dtype)));
  return owned;
}

cudnnHandle_t cudnn_handle(Device device) {
  static std::mutex mutex;
  static std::vector<cudnnHandle_t> handles;
  std::lock_guard<std::mutex> lock(mutex);
  if (int(handles.size()) <= device.index) handles.resize(device.index + 1, nullptr);
  if (!handles[device.index]) {
    DeviceGuard guard(device.index);  // a handle belongs to the device current at its creation
    RG_CUDNN_CHECK(cudnnCreate(&handles[device.index]));
  }
  return handles[device.index];
}

void check_contiguous(const Tensor& t, const char* op, const char* name) {
  RG_CHECK(t.is_contiguous(), op, " on cuDNN: ", name, " must be contiguous (layers/kernels.h), got strides ",
           shape_str(t.strides()));
}

Tensor workspace(size_t bytes, Device device) {
  return bytes == 0 ? Tensor() : Tensor::empty({int64_t(bytes)}, DType::UInt8, device);
}

}  // namespace rg::cuda
