// Max pooling on CUDA, our own kernels rather than cuDNN's: cuDNN documents neither which of tied
// maxima gets the gradient nor where a NaN sends it, while our contract (layers/kernels.h, and
// PyTorch's) is the first maximum in the window's row-major order, a NaN winning. DenseNet's stem
// pool sees windows of zeros after its ReLU everywhere, so ties are the rule, not the exception.
//
// The forward and the backward find a window's winner with the same function, so no argmax is
// kept between them. The backward is two passes, both deterministic: each output's winner, then
// each input element gathers the gradients of the windows it won (no atomics, so the sum is in
// one fixed order on every run).
#include "layers/cuda/cuda_layer_kernels.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/indexer.cuh"

namespace rg::cuda {

namespace {

constexpr int kThreads = 256;

// The geometry, and x's batch stride (each sample [C, H, W] is contiguous).
struct Pool {
  WindowGeometry g;
  int64_t x_batch_stride;
};

template <typename T>
__device__ const T* plane_of(const T* x, const Pool& p, int64_t plane) {
  return x + (plane / p.g.c) * p.x_batch_stride + (plane % p.g.c) * p.g.h * p.g.w;
}

// The position (row * w + column in its plane) of window (i, j)'s winner: the first NaN, else the
// first maximum; padding never wins (and the op's padding <= kernel / 2 leaves every window an
// input).
template <typename T>
__device__ int32_t winner(const T* plane, const WindowGeometry& g, int64_t i, int64_t j) {
  int32_t best = -1;
  T best_value = T(0);
  for (int64_t p = 0; p < g.kh; ++p) {
    const int64_t yy = i * g.sh + p * g.dh - g.ph;
    if (yy < 0 || yy >= g.h) continue;
    for (int64_t q = 0; q < g.kw; ++q) {
      const int64_t xx = j * g.sw + q * g.dw - g.pw;
      if (xx < 0 || xx >= g.w) continue;
      const T v = plane[yy * g.w + xx];
      if (best < 0 || v > best_value || (isnan(v) && !isnan(best_value))) {
        best = int32_t(yy * g.w + xx);
        best_value = v;
      }
    }
  }
  return best;
}

// y[plane, i, j] = the winner's value; with `where` also its position.
template <typename T>
__global__ void max_pool_kernel(const T* x, Pool p, T* y, int32_t* where) {
  const WindowGeometry& g = p.g;
  const int64_t outputs = g.oh * g.ow;
  RG_GRID_STRIDE_LOOP(k, g.n * g.c * outputs) {
    const int64_t plane = k / outputs, i = k % outputs / g.ow, j = k % g.ow;
    const T* in = plane_of(x, p, plane);
    const int32_t best = winner(in, g, i, j);
    if (y) y[k] = in[best];
    if (where) where[k] = best;
  }
}

// gx[plane, yy, xx] = the sum of gy over the windows that (yy, xx) won.
template <typename T>
__global__ void max_pool_grad_kernel(const int32_t* where, const T* gy, WindowGeometry g, T* gx) {
  const int64_t inputs = g.h * g.w, outputs = g.oh * g.ow;
  RG_GRID_STRIDE_LOOP(k, g.n * g.c * inputs) {
    const int64_t plane = k / inputs, pos = k % inputs, yy = pos / g.w, xx = pos % g.w;
    double acc = 0;
    for (int64_t p = 0; p < g.kh; ++p) {  // the windows holding (yy, xx): i * sh = yy + ph - p * dh
      const int64_t ti = yy + g.ph - p * g.dh;
      if (ti < 0 || ti % g.sh != 0 || ti / g.sh >= g.oh) continue;
      for (int64_t q = 0; q < g.kw; ++q) {
        const int64_t tj = xx + g.pw - q * g.dw;
        if (tj < 0 || tj % g.sw != 0 || tj / g.sw >= g.ow) continue;
        const int64_t o = plane * outputs + (ti / g.sh) * g.ow + tj / g.sw;
        if (where[o] == pos) acc += double(gy[o]);
      }
    }
    gx[k] = T(acc);
  }
}

void check_plane(const WindowGeometry& g) {
  RG_CHECK(g.h * g.w <= INT32_MAX, "max_pool2d on CUDA: a plane of ", g.h, "x", g.w, " is too large");
}

}  // namespace

void max_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g) {
  if (y.numel() == 0) return;
  check_plane(g);
  DeviceGuard guard(x.device().index);
  visit_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    max_pool_kernel<T><<<grid_for(y.numel()), kThreads>>>(x.data<T>(), Pool{g, x.strides()[0]}, y.data<T>(), nullptr);
  });
  RG_CUDA_CHECK_LAUNCH(max_pool_kernel);
}

void max_pool_backward(const Tensor& x, const Tensor& /*y: found again*/, const Tensor& gy, Tensor& gx,
                       const WindowGeometry& g) {
  if (gx.numel() == 0) return;
  check_contiguous(gy, "max_pool2d backward", "gy");
  check_plane(g);
  DeviceGuard guard(x.device().index);
  Tensor where = Tensor::empty({gy.numel() * 4}, DType::UInt8, x.device());  // one int32 per output
  auto* w = static_cast<int32_t*>(where.data_ptr());
  visit_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    max_pool_kernel<T><<<grid_for(gy.numel()), kThreads>>>(x.data<T>(), Pool{g, x.strides()[0]}, nullptr, w);
    RG_CUDA_CHECK_LAUNCH(max_pool_kernel);
    max_pool_grad_kernel<T><<<grid_for(gx.numel()), kThreads>>>(w, gy.data<T>(), g, gx.data<T>());
    RG_CUDA_CHECK_LAUNCH(max_pool_grad_kernel);
  });
}

}  // namespace rg::cuda
