// CUDA reductions (sum, max over any set of dims): one block of 256 threads per output element.
// Each thread folds every 256th input element of its output's reduced range, then the block
// combines the 256 partial results in shared memory, halving the active threads each step.
#include <limits>

#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/indexer.cuh"
#include "tensor/cuda/kernels.h"

namespace rg::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void reduce_kernel(Indexer<1> kept, Indexer<1> reduced, int64_t n_red, bool is_sum,
                              const T* x, T* out) {
  __shared__ double partial[kThreads];
  int64_t base[1];
  kept.offsets(blockIdx.x, base);
  double acc = is_sum ? 0.0 : -INFINITY;
  for (int64_t r = threadIdx.x; r < n_red; r += kThreads) {
    int64_t off[1];
    reduced.offsets(r, off);
    const double v = x[base[0] + off[0]];
    if (is_sum) acc += v;
    else if (v != v || v > acc) acc = (acc != acc) ? acc : v;  // NaN, once seen, stays
  }
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step /= 2) {
    if (threadIdx.x < step) {
      const double a = partial[threadIdx.x], b = partial[threadIdx.x + step];
      partial[threadIdx.x] = is_sum ? a + b : ((a != a || b != b) ? NAN : fmax(a, b));
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = static_cast<T>(partial[0]);
}

}  // namespace

void reduce(ReduceOp op, const Tensor& x, Tensor& out) {
  DeviceGuard guard(out.device().index);
  const auto [kept_shape, red_shape, kept_strides, red_strides] =
      split_reduction(x.shape(), x.strides(), out.shape());
  const int64_t n_out = numel(kept_shape), n_red = numel(red_shape);
  if (n_out == 0) return;
  RG_CHECK(n_out < (int64_t(1) << 31), op_name(op), " on CUDA: too many outputs (", n_out, ")");
  const auto kept = make_indexer(coalesce<1>(kept_shape, {&kept_strides}), op_name(op));
  const auto reduced = make_indexer(coalesce<1>(red_shape, {&red_strides}), op_name(op));
  visit_floating(x.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    reduce_kernel<T><<<unsigned(n_out), kThreads>>>(kept, reduced, n_red, op == ReduceOp::Sum,
                                                    x.data<T>(), out.data<T>());
  });
  RG_CUDA_CHECK_LAUNCH(reduce);
}

}  // namespace rg::cuda
