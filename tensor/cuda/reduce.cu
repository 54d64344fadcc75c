// CUDA reductions (sum, max over any set of dims), accumulating in double.
//
// Two layouts, chosen by where the kept (output) elements lie in memory:
//  - Columns: the kept elements are adjacent in x (stride 1: a sum over the batch of [N, C], or
//    over N of [N, C, H, W] seen as columns) and there are many of them. One thread per output,
//    each walking its reduced range: neighbouring threads read neighbouring addresses, so every
//    load is coalesced.
//  - Split: otherwise (a full reduction, a sum over H and W, few outputs). Each output's reduced
//    range is cut into `parts` chunks, one block of 256 threads per (output, chunk): the threads
//    stride through the chunk, then combine their partials in shared memory. With parts > 1 a
//    second kernel folds each output's parts, so a full reduction fills the whole GPU instead of
//    running on one block.
#include <limits>

#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/indexer.cuh"
#include "tensor/cuda/kernels.h"

namespace rg::cuda {
namespace {

constexpr int kThreads = 256;

__device__ double combine(bool is_sum, double a, double b) {
  if (is_sum) return a + b;
  return (a != a || b != b) ? NAN : fmax(a, b);  // NaN, once seen, stays
}

template <typename T>
__global__ void column_kernel(Indexer<1> kept, Indexer<1> reduced, int64_t n_out, int64_t n_red, bool is_sum,
                              const T* x, T* out) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n_out; o += int64_t(gridDim.x) * blockDim.x) {
    int64_t base[1];
    kept.offsets(o, base);
    double acc = is_sum ? 0.0 : -INFINITY;
    for (int64_t r = 0; r < n_red; ++r) {
      int64_t off[1];
      reduced.offsets(r, off);
      acc = combine(is_sum, acc, double(x[base[0] + off[0]]));
    }
    out[o] = static_cast<T>(acc);
  }
}

// Block (o, part) reduces elements [part * chunk, (part + 1) * chunk) of output o's range into
// partial[o * parts + part].
template <typename T>
__global__ void split_kernel(Indexer<1> kept, Indexer<1> reduced, int64_t n_red, int64_t parts, int64_t chunk,
                             bool is_sum, const T* x, double* partial) {
  __shared__ double shared[kThreads];
  const int64_t o = blockIdx.x / parts, part = blockIdx.x % parts;
  int64_t base[1];
  kept.offsets(o, base);
  const int64_t end = min(n_red, (part + 1) * chunk);
  double acc = is_sum ? 0.0 : -INFINITY;
  for (int64_t r = part * chunk + threadIdx.x; r < end; r += kThreads) {
    int64_t off[1];
    reduced.offsets(r, off);
    acc = combine(is_sum, acc, double(x[base[0] + off[0]]));
  }
  shared[threadIdx.x] = acc;
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step /= 2) {
    if (threadIdx.x < step) shared[threadIdx.x] = combine(is_sum, shared[threadIdx.x], shared[threadIdx.x + step]);
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = shared[0];
}

template <typename T>
__global__ void finish_kernel(const double* partial, int64_t n_out, int64_t parts, bool is_sum, T* out) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n_out; o += int64_t(gridDim.x) * blockDim.x) {
    double acc = is_sum ? 0.0 : -INFINITY;
    for (int64_t p = 0; p < parts; ++p) acc = combine(is_sum, acc, partial[o * parts + p]);
    out[o] = static_cast<T>(acc);
  }
}

}  // namespace

void reduce(ReduceOp op, const Tensor& x, Tensor& out) {
  DeviceGuard guard(out.device().index);
  const auto [kept_shape, red_shape, kept_strides, red_strides] = split_reduction(x.shape(), x.strides(), out.shape());
  const int64_t n_out = numel(kept_shape), n_red = numel(red_shape);
  if (n_out == 0) return;
  const auto kept_layout = coalesce<1>(kept_shape, {&kept_strides});
  const auto kept = make_indexer(kept_layout, op_name(op));
  const auto reduced = make_indexer(coalesce<1>(red_shape, {&red_strides}), op_name(op));
  const bool is_sum = op == ReduceOp::Sum;
  const bool columns = n_out >= 1024 && !kept_layout.shape.empty() && kept_layout.strides[0].back() == 1;

  // Split: enough (output, part) blocks to fill the GPU, each part at least 4 elements per thread.
  const int64_t target_blocks = 2048;
  const int64_t parts = columns ? 1
                                : std::max<int64_t>(1, std::min((target_blocks + n_out - 1) / n_out,
                                                                (n_red + 4 * kThreads - 1) / (4 * kThreads)));
  const int64_t chunk = (n_red + parts - 1) / parts;
  RG_CHECK(n_out * parts < (int64_t(1) << 31), op_name(op), " on CUDA: too many outputs (", n_out, ")");
  visit_floating(x.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (columns) {
      column_kernel<T><<<grid_for(n_out), kThreads>>>(kept, reduced, n_out, n_red, is_sum, x.data<T>(), out.data<T>());
      RG_CUDA_CHECK_LAUNCH(column_kernel);
      return;
    }
    Tensor partial = Tensor::empty({n_out * parts}, DType::Float64, out.device());
    split_kernel<T><<<unsigned(n_out * parts), kThreads>>>(kept, reduced, n_red, parts, chunk, is_sum, x.data<T>(),
                                                           partial.data<double>());
    RG_CUDA_CHECK_LAUNCH(split_kernel);
    finish_kernel<T><<<grid_for(n_out), kThreads>>>(partial.data<double>(), n_out, parts, is_sum, out.data<T>());
    RG_CUDA_CHECK_LAUNCH(finish_kernel);
  });
}

}  // namespace rg::cuda
