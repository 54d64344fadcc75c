// Channel scale on CUDA: one thread per element of y (or gx); the gradient of s is one block per
// (n, c) plane, its threads striding over the plane and summing in shared memory.
#include "layers/cuda/cuda_layer_kernels.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/indexer.cuh"

namespace rg::cuda {

namespace {

constexpr int kThreads = 256;

// out[(n*C + c)*S + i] = in[n*batch_stride + c*S + i] * s[n*C + c]: y from x, or gx from gy.
template <typename T>
__global__ void scale_kernel(const T* in, int64_t in_batch_stride, const T* s, int64_t c, int64_t plane, int64_t total,
                             T* out) {
  RG_GRID_STRIDE_LOOP(k, total) {
    const int64_t p = k / plane, i = k % plane;
    out[k] = in[(p / c) * in_batch_stride + (p % c) * plane + i] * s[p];
  }
}

// gs[p] = sum_i gy[p*S + i] * x[n*batch_stride + c*S + i], one block per plane p = n*C + c.
template <typename T>
__global__ void scale_grad_kernel(const T* x, int64_t x_batch_stride, const T* gy, int64_t c, int64_t plane, T* gs) {
  __shared__ double partial[kThreads];
  const int64_t p = blockIdx.x;
  const T* in = x + (p / c) * x_batch_stride + (p % c) * plane;
  double acc = 0;
  for (int64_t i = threadIdx.x; i < plane; i += kThreads) acc += double(gy[p * plane + i]) * double(in[i]);
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step /= 2) {
    if (threadIdx.x < step) partial[threadIdx.x] += partial[threadIdx.x + step];
    __syncthreads();
  }
  if (threadIdx.x == 0) gs[p] = T(partial[0]);
}

int64_t plane_size(const Tensor& x) { return x.dim() == 4 ? x.size(2) * x.size(3) : 1; }

}  // namespace

void channel_scale_forward(const Tensor& x, const Tensor& s, Tensor& y) {
  DeviceGuard guard(x.device().index);
  const int64_t total = y.numel();
  if (total == 0) return;
  visit_floating(x.dtype(), "channel_scale", [&](auto tag) {
    using T = typename decltype(tag)::type;
    scale_kernel<T><<<grid_for(total), kThreads>>>(x.data<T>(), x.strides()[0], s.data<T>(), x.size(1), plane_size(x),
                                                   total, y.data<T>());
  });
  RG_CUDA_CHECK_LAUNCH(scale_kernel);
}

void channel_scale_backward(const Tensor& x, const Tensor& s, const Tensor& gy, Tensor* gx, Tensor* gs) {
  check_contiguous(gy, "channel_scale backward", "gy");
  DeviceGuard guard(x.device().index);
  const int64_t planes = x.size(0) * x.size(1);
  if (planes == 0) return;
  visit_floating(x.dtype(), "channel_scale", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (gx) {  // gy is contiguous: its batch stride is C * S
      scale_kernel<T><<<grid_for(gy.numel()), kThreads>>>(gy.data<T>(), x.size(1) * plane_size(x), s.data<T>(),
                                                          x.size(1), plane_size(x), gy.numel(), gx->data<T>());
      RG_CUDA_CHECK_LAUNCH(scale_kernel);
    }
    if (gs) {
      RG_CHECK(planes < (int64_t(1) << 31), "channel_scale on CUDA: too many planes (", planes, ")");
      scale_grad_kernel<T><<<unsigned(planes), kThreads>>>(x.data<T>(), x.strides()[0], gy.data<T>(), x.size(1),
                                                           plane_size(x), gs->data<T>());
      RG_CUDA_CHECK_LAUNCH(scale_grad_kernel);
    }
  });
}

}  // namespace rg::cuda
