// Batch norm on CUDA: the four steps of layers/kernels.h as kernels of our own (cuDNN has no step
// that only measures the statistics or only applies the backward's sums; PyTorch's SyncBatchNorm
// has its own kernels for the same reason). The statistics and the backward's sums are one block
// per channel, its threads striding over the channel's values and summing in double in shared
// memory; the normalization and gx are one thread per element. x may be a channel prefix (any
// batch stride): each element is read where it lies, with no packed copy.
#include "layers/cuda/cuda_layer_kernels.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/indexer.cuh"

namespace rg::cuda {

namespace {

constexpr int kThreads = 256;

// x [N, C, S] with samples batch_stride apart (as layers/cpu/cpu_kernels.h's ChannelLayout).
struct Layout {
  int64_t n, c, s, batch_stride;
};

Layout layout_of(const Tensor& x) {
  return {x.size(0), x.size(1), x.dim() == 4 ? x.size(2) * x.size(3) : 1, x.strides()[0]};
}

// Where x's element lies for element k = (n * C + c) * S + i of a contiguous [N, C, S] tensor.
__device__ int64_t x_offset(const Layout& l, int64_t k) {
  const int64_t plane = k / l.s;
  return (plane / l.c) * l.batch_stride + (plane % l.c) * l.s + k % l.s;
}

// Element k of channel c's plane sequence: value number i of the channel's M = N * S.
__device__ int64_t element_of(const Layout& l, int64_t c, int64_t i) { return ((i / l.s) * l.c + c) * l.s + i % l.s; }

// gy[k], or 0 where a fused ReLU's output was not positive (relu_y null: no ReLU).
template <typename T>
__device__ double grad_at(const T* gy, const T* relu_y, int64_t k) {
  return relu_y && !(relu_y[k] > 0) ? 0.0 : double(gy[k]);
}

// The sum of `value` over the block's kThreads threads, returned to every thread.
__device__ double block_sum(double value, double* shared) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step /= 2) {
    if (threadIdx.x < step) shared[threadIdx.x] += shared[threadIdx.x + step];
    __syncthreads();
  }
  const double sum = shared[0];
  __syncthreads();  // every thread has read it before the next call writes
  return sum;
}

// Block c: mean and biased variance of channel c, in two passes (the second around the mean).
template <typename T>
__global__ void stats_kernel(const T* x, Layout l, T* mean, T* var) {
  __shared__ double shared[kThreads];
  const int64_t c = blockIdx.x, m = l.n * l.s;
  double acc = 0;
  for (int64_t i = threadIdx.x; i < m; i += kThreads) acc += double(x[x_offset(l, element_of(l, c, i))]);
  const double mu = m > 0 ? block_sum(acc, shared) / double(m) : 0.0;
  acc = 0;
  for (int64_t i = threadIdx.x; i < m; i += kThreads) {
    const double d = double(x[x_offset(l, element_of(l, c, i))]) - mu;
    acc += d * d;
  }
  const double v = m > 0 ? block_sum(acc, shared) / double(m) : 0.0;
  if (threadIdx.x == 0) {
    mean[c] = T(mu);
    var[c] = T(v);
  }
}

// y[k] = (x - mean) / sqrt(var + eps) * weight + bias, then max(0, y) with relu (a NaN passes).
template <typename T>
__global__ void elemt_kernel(const T* x, Layout l, const T* weight, const T* bias, const T* mean, const T* var,
                             double eps, bool relu, int64_t total, T* y) {
  RG_GRID_STRIDE_LOOP(k, total) {
    const int64_t c = (k / l.s) % l.c;
    const double scale = (weight ? double(weight[c]) : 1.0) / sqrt(double(var[c]) + eps);
    const double v = (double(x[x_offset(l, k)]) - double(mean[c])) * scale + (bias ? double(bias[c]) : 0.0);
    y[k] = T(relu && v < 0 ? 0.0 : v);
  }
}

// Block c: sum_dy[c] = sum gy, sum_dy_xmu[c] = sum gy * (x - mean) over channel c.
template <typename T>
__global__ void backward_reduce_kernel(const T* x, Layout l, const T* gy, const T* relu_y, const T* mean,
                                       double* sum_dy, double* sum_dy_xmu) {
  __shared__ double shared[kThreads];
  const int64_t c = blockIdx.x, m = l.n * l.s;
  const double mu = double(mean[c]);
  double dy = 0, dy_xmu = 0;
  for (int64_t i = threadIdx.x; i < m; i += kThreads) {
    const int64_t k = element_of(l, c, i);
    const double g = grad_at(gy, relu_y, k);
    dy += g;
    dy_xmu += g * (double(x[x_offset(l, k)]) - mu);
  }
  dy = block_sum(dy, shared);
  dy_xmu = block_sum(dy_xmu, shared);
  if (threadIdx.x == 0) {
    sum_dy[c] = dy;
    sum_dy_xmu[c] = dy_xmu;
  }
}

// gx[k] = weight * invstd * (gy - sum_dy / count - (x - mean) * invstd^2 * sum_dy_xmu / count)
template <typename T>
__global__ void backward_elemt_kernel(const T* x, Layout l, const T* weight, const T* gy, const T* relu_y,
                                      const T* mean, const T* var, double eps, const double* sum_dy,
                                      const double* sum_dy_xmu, double count, int64_t total, T* gx) {
  RG_GRID_STRIDE_LOOP(k, total) {
    const int64_t c = (k / l.s) % l.c;
    const double invstd = 1.0 / sqrt(double(var[c]) + eps), scale = invstd * (weight ? double(weight[c]) : 1.0);
    const double xmu = double(x[x_offset(l, k)]) - double(mean[c]);
    gx[k] = T(scale * (grad_at(gy, relu_y, k) - sum_dy[c] / count - xmu * invstd * invstd * sum_dy_xmu[c] / count));
  }
}

// A per-channel pointer, or null for an undefined tensor (no weight, no bias, no ReLU).
template <typename T>
const T* or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// One block per channel: the grid's size.
unsigned channel_blocks(const Layout& l) {
  RG_CHECK(l.c < (int64_t(1) << 31), "batch_norm on CUDA: too many channels (", l.c, ")");
  return unsigned(l.c);
}

}  // namespace

void batch_norm_stats(const Tensor& x, Tensor& mean, Tensor& var) {
  const Layout l = layout_of(x);
  if (l.c == 0) return;
  DeviceGuard guard(x.device().index);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    stats_kernel<T><<<channel_blocks(l), kThreads>>>(x.data<T>(), l, mean.data<T>(), var.data<T>());
  });
  RG_CUDA_CHECK_LAUNCH(stats_kernel);
}

void batch_norm_elemt(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                      double eps, bool relu, Tensor& y) {
  const int64_t total = y.numel();
  if (total == 0) return;
  DeviceGuard guard(x.device().index);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    elemt_kernel<T><<<grid_for(total), kThreads>>>(x.data<T>(), layout_of(x), or_null<T>(weight), or_null<T>(bias),
                                                   mean.data<T>(), var.data<T>(), eps, relu, total, y.data<T>());
  });
  RG_CUDA_CHECK_LAUNCH(elemt_kernel);
}

void batch_norm_backward_reduce(const Tensor& x, const Tensor& gy, const Tensor& relu_y, const Tensor& mean,
                                Tensor& sum_dy, Tensor& sum_dy_xmu) {
  check_contiguous(gy, "batch_norm backward", "gy");
  const Layout l = layout_of(x);
  if (l.c == 0) return;
  DeviceGuard guard(x.device().index);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    backward_reduce_kernel<T><<<channel_blocks(l), kThreads>>>(x.data<T>(), l, gy.data<T>(), or_null<T>(relu_y),
                                                               mean.data<T>(), sum_dy.data<double>(),
                                                               sum_dy_xmu.data<double>());
  });
  RG_CUDA_CHECK_LAUNCH(backward_reduce_kernel);
}

void batch_norm_backward_elemt(const Tensor& x, const Tensor& weight, const Tensor& gy, const Tensor& relu_y,
                               const Tensor& mean, const Tensor& var, double eps, const Tensor& sum_dy,
                               const Tensor& sum_dy_xmu, int64_t count, Tensor& gx) {
  check_contiguous(gy, "batch_norm backward", "gy");
  const int64_t total = gx.numel();
  if (total == 0) return;
  DeviceGuard guard(x.device().index);
  visit_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    backward_elemt_kernel<T><<<grid_for(total), kThreads>>>(
        x.data<T>(), layout_of(x), or_null<T>(weight), gy.data<T>(), or_null<T>(relu_y), mean.data<T>(), var.data<T>(),
        eps, sum_dy.data<double>(), sum_dy_xmu.data<double>(), double(count), total, gx.data<T>());
  });
  RG_CUDA_CHECK_LAUNCH(backward_elemt_kernel);
}

}  // namespace rg::cuda
