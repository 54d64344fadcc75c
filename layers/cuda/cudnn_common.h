// What every cuDNN file in layers/cuda/ shares: the status check, RAII descriptors, the handle,
// workspace, and the alpha/beta scaling constants.
//
// All work runs on the default stream of the tensor's device (as in tensor/cuda/), so workspace
// taken from the caching allocator may be freed as soon as the call is queued.
#pragma once

#include <cudnn.h>

#include <memory>
#include <type_traits>

#include "tensor/tensor.h"

#define RG_CUDNN_CHECK(call)                                                                           \
  do {                                                                                                 \
    const cudnnStatus_t rg_status_ = (call);                                                           \
    RG_CHECK(rg_status_ == CUDNN_STATUS_SUCCESS, #call, " failed: ", cudnnGetErrorString(rg_status_)); \
  } while (0)

namespace rg::cuda {

// Descriptors own their cuDNN object and destroy it with the matching function.
template <typename Handle, cudnnStatus_t (*destroy)(Handle)>
struct Destroy {
  void operator()(Handle h) const { destroy(h); }
};
using TensorDesc = std::unique_ptr<std::remove_pointer_t<cudnnTensorDescriptor_t>,
                                   Destroy<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>>;
using FilterDesc = std::unique_ptr<std::remove_pointer_t<cudnnFilterDescriptor_t>,
                                   Destroy<cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor>>;
using ConvDesc = std::unique_ptr<std::remove_pointer_t<cudnnConvolutionDescriptor_t>,
                                 Destroy<cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor>>;
using PoolDesc = std::unique_ptr<std::remove_pointer_t<cudnnPoolingDescriptor_t>,
                                 Destroy<cudnnPoolingDescriptor_t, cudnnDestroyPoolingDescriptor>>;

cudnnDataType_t cudnn_dtype(DType dtype);
// [n, c, h, w] with the given strides (a channel prefix of a dense block's buffer keeps its batch
// stride: cuDNN reads it in place, no copy). Sizes are at least 1 (callers return early on an
// empty batch); a size-1 dim gets its packed stride; a tensor whose span passes 2^31 - 1 elements
// (cuDNN's legacy kernels index with 32 bits) is an rg::Error.
TensorDesc tensor_desc(DType dtype, int64_t n, int64_t c, int64_t h, int64_t w, int64_t sn, int64_t sc, int64_t sh,
                       int64_t sw);
// A [N, C, H, W] tensor (or [N, C], seen as [N, C, 1, 1]) with its own strides.
TensorDesc tensor_desc(const Tensor& t);
FilterDesc filter_desc(DType dtype, int64_t o, int64_t c, int64_t kh, int64_t kw);
ConvDesc conv_desc(DType dtype, int64_t ph, int64_t pw, int64_t sh, int64_t sw, int64_t dh, int64_t dw);

// The cuDNN handle of `device`, created on first use. Callers hold a DeviceGuard for the device.
cudnnHandle_t cudnn_handle(Device device);
// Scratch memory of `bytes` on `device`, from the caching allocator (undefined for 0 bytes).
Tensor workspace(size_t bytes, Device device);

// cuDNN's alpha and beta: float for float data, double for double data.
struct Scale {
  float f;
  double d;
  explicit Scale(double value) : f(float(value)), d(value) {}
  const void* of(DType dtype) const { return dtype == DType::Float64 ? static_cast<const void*>(&d) : &f; }
};
inline const Scale kOne{1.0}, kZero{0.0};

}  // namespace rg::cuda
