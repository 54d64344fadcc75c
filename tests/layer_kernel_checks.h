// Checks one table of layer kernels (layers/kernels.h) against another, kernel by kernel, on
// random inputs: the fast CPU kernels against the reference (layers_tests), cuDNN against the CPU
// (cuda_tests). Inputs are made on the CPU and copied to the device under test.
#pragma once

#include <vector>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "helpers.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/kernels.h"
#include "layers/pooling.h"
#include "layers/squeeze_excite.h"

namespace rg::test {

// One window geometry: input [n, c, h, w], o output channels (conv only), a k x k window.
struct WindowCase {
  int64_t n, c, h, w, o, k, stride, pad, dil;
};

// Small geometries that cover padding, stride, dilation, 1x1 and odd sizes.
inline std::vector<WindowCase> conv_cases() {
  return {{2, 3, 7, 9, 4, 3, 1, 1, 1},   {1, 5, 8, 8, 6, 1, 1, 0, 1}, {2, 4, 9, 7, 3, 3, 2, 1, 1},
          {1, 2, 11, 10, 3, 7, 2, 3, 1}, {2, 3, 9, 9, 2, 3, 1, 2, 2}, {1, 4, 6, 5, 5, 1, 2, 0, 1},
          {3, 2, 5, 5, 2, 5, 1, 0, 1}};
}
inline std::vector<WindowCase> pool_cases() {  // max pool 3/2/1 (the stem), avg 2/2 (transitions), odd sizes
  return {{2, 3, 9, 8, 3, 3, 2, 1, 1},
          {1, 4, 8, 8, 4, 2, 2, 0, 1},
          {2, 2, 7, 5, 2, 2, 2, 0, 1},
          {1, 3, 6, 6, 3, 3, 1, 1, 1},
          {2, 3, 5, 4, 3, 5, 1, 2, 1}};
}
// DenseNet121's convolutions at a given image size and batch: the stem, then for each block its
// first and last dense layer's 1x1 (over a channel prefix of the block's buffer) and 3x3, and the
// transition's 1x1.
inline std::vector<WindowCase> densenet121_conv_cases(int64_t n, int64_t image) {
  std::vector<WindowCase> cases{{n, 3, image, image, 64, 7, 2, 3, 1}};
  const int64_t layers[] = {6, 12, 24, 16};
  int64_t channels = 64, size = image / 4;
  for (int b = 0; b < 4; ++b) {
    for (int64_t in : {channels, channels + (layers[b] - 1) * 32}) {
      cases.push_back({n, in, size, size, 128, 1, 1, 0, 1});
      cases.push_back({n, 128, size, size, 32, 3, 1, 1, 1});
    }
    channels += layers[b] * 32;
    if (b < 3) {
      cases.push_back({n, channels, size, size, channels / 2, 1, 1, 0, 1});
      channels /= 2;
      size /= 2;
    }
  }
  return cases;
}

inline WindowGeometry geometry_of(const WindowCase& c, bool pool) {
  const int64_t o = pool ? c.c : c.o;
  return window_geometry(zeros({c.n, c.c, c.h, c.w}), o, c.k, c.k, c.stride, c.pad, c.dil, "test");
}

// x: [n, c, h, w] made on the CPU and moved to `device`; with `prefix` a channel prefix of a wider
// tensor (as in a dense block's buffer), so the batch stride is not c*h*w.
inline Tensor sample_input(const WindowCase& c, bool prefix, DType dtype, Device device, Generator& gen) {
  Tensor wide = rand({c.n, c.c + (prefix ? 3 : 0), c.h, c.w}, -1, 1, dtype, Device::cpu(), gen).to(device);
  return slice(wide, 1, 0, c.c);
}

inline Tensor on(Device device, const Tensor& t) { return t.defined() ? t.to(device) : t; }
inline Tensor empty_on(const Tensor& like, Device device) { return Tensor::empty(like.shape(), like.dtype(), device); }

// Convolution forward, backward-data and backward-filter of `kernels` on `device` against `ref`.
inline void check_conv(const LayerKernels& kernels, Device device, const LayerKernels& ref, const WindowCase& c,
                       bool prefix, DType dtype, double tol, Generator& gen) {
  CAPTURE(c.n);
  CAPTURE(c.c);
  CAPTURE(c.h);
  CAPTURE(c.o);
  CAPTURE(c.k);
  CAPTURE(c.stride);
  CAPTURE(c.pad);
  CAPTURE(c.dil);
  CAPTURE(prefix);
  CAPTURE(dtype);
  const WindowGeometry g = geometry_of(c, false);
  const Tensor x = sample_input(c, prefix, dtype, Device::cpu(), gen);
  const Tensor w = rand({c.o, c.c, c.k, c.k}, -1, 1, dtype, Device::cpu(), gen),
               b = rand({c.o}, -1, 1, dtype, Device::cpu(), gen);
  const Tensor gy = rand({c.n, c.o, g.oh, g.ow}, -1, 1, dtype, Device::cpu(), gen);
  Tensor x_dev = sample_input(c, prefix, dtype, device, gen);  // the same layout, x's values
  x_dev.copy_(x.to(device));
  const Tensor w_dev = on(device, w), b_dev = on(device, b), gy_dev = on(device, gy);

  Tensor y = Tensor::empty(gy.shape(), dtype, device), y_ref = empty_on(gy, Device::cpu());
  kernels.conv_forward(x_dev, w_dev, b_dev, y, g);
  ref.conv_forward(x, w, b, y_ref, g);
  check_close(y, y_ref, tol, tol, "conv forward");

  Tensor gx = Tensor::empty({c.n, c.c, c.h, c.w}, dtype, device), gx_ref = Tensor::empty({c.n, c.c, c.h, c.w}, dtype);
  kernels.conv_backward_data(w_dev, gy_dev, gx, g);
  ref.conv_backward_data(w, gy, gx_ref, g);
  check_close(gx, gx_ref, tol, tol, "conv backward data");

  Tensor gw = empty_on(w, device), gw_ref = empty_on(w, Device::cpu()), gb = empty_on(b, device),
         gb_ref = empty_on(b, Device::cpu());
  kernels.conv_backward_filter(x_dev, gy_dev, gw, &gb, g);
  ref.conv_backward_filter(x, gy, gw_ref, &gb_ref, g);
  check_close(gw, gw_ref, tol * 10, tol, "conv backward filter");
  check_close(gb, gb_ref, tol * 10, tol, "conv backward bias");
}

// Batch norm's four steps on x [n, c, h, w] (a channel prefix when `prefix`), alone and with the
// fused ReLU: the statistics, the normalization by them and by running statistics, the backward's
// sums and its gx with this batch's sums (training) and with sums of zero (eval).
inline void check_batch_norm(const LayerKernels& kernels, Device device, const LayerKernels& ref, const WindowCase& c,
                             bool prefix, DType dtype, double tol, Generator& gen) {
  for (bool relu : {false, true}) {
    CAPTURE(c.n);
    CAPTURE(c.c);
    CAPTURE(c.h);
    CAPTURE(c.w);
    CAPTURE(prefix);
    CAPTURE(dtype);
    CAPTURE(relu);
    const Tensor x = sample_input(c, prefix, dtype, Device::cpu(), gen);
    Tensor x_dev = sample_input(c, prefix, dtype, device, gen);
    x_dev.copy_(x.to(device));
    const Tensor w = rand({c.c}, 0.5, 1.5, dtype, Device::cpu(), gen),
                 b = rand({c.c}, -1, 1, dtype, Device::cpu(), gen);
    const Tensor gy = rand({c.n, c.c, c.h, c.w}, -1, 1, dtype, Device::cpu(), gen);
    const double eps = 1e-5;

    Tensor mean = Tensor::empty({c.c}, dtype, device), var = empty_on(mean, device);
    Tensor mean_ref = Tensor::empty({c.c}, dtype), var_ref = empty_on(mean_ref, Device::cpu());
    kernels.batch_norm_stats(x_dev, mean, var);
    ref.batch_norm_stats(x, mean_ref, var_ref);
    check_close(mean, mean_ref, tol, tol, "batch norm stats: mean");
    check_close(var, var_ref, tol, tol, "batch norm stats: var");

    Tensor y = Tensor::empty(gy.shape(), dtype, device), y_ref = empty_on(gy, Device::cpu());
    kernels.batch_norm_elemt(x_dev, on(device, w), on(device, b), mean, var, eps, relu, y);
    ref.batch_norm_elemt(x, w, b, mean_ref, var_ref, eps, relu, y_ref);
    check_close(y, y_ref, tol, tol, "batch norm elemt: y");

    const Tensor relu_y = relu ? y : Tensor(), relu_y_ref = relu ? y_ref : Tensor();
    Tensor sum_dy = Tensor::empty({c.c}, DType::Float64, device), sum_dy_xmu = empty_on(sum_dy, device);
    Tensor sum_dy_ref = Tensor::empty({c.c}, DType::Float64), sum_dy_xmu_ref = empty_on(sum_dy_ref, Device::cpu());
    kernels.batch_norm_backward_reduce(x_dev, on(device, gy), relu_y, mean, sum_dy, sum_dy_xmu);
    ref.batch_norm_backward_reduce(x, gy, relu_y_ref, mean_ref, sum_dy_ref, sum_dy_xmu_ref);
    check_close(sum_dy, sum_dy_ref, tol * 10, tol, "batch norm backward reduce: sum_dy");
    check_close(sum_dy_xmu, sum_dy_xmu_ref, tol * 10, tol, "batch norm backward reduce: sum_dy_xmu");

    const int64_t count = c.n * c.h * c.w;
    const Tensor no_sums = zeros({c.c}, DType::Float64);
    for (bool eval : {false, true}) {
      CAPTURE(eval);
      Tensor gx = empty_on(gy, device), gx_ref = empty_on(gy, Device::cpu());
      kernels.batch_norm_backward_elemt(x_dev, on(device, w), on(device, gy), relu_y, mean, var, eps,
                                        eval ? on(device, no_sums) : sum_dy, eval ? on(device, no_sums) : sum_dy_xmu,
                                        count, gx);
      ref.batch_norm_backward_elemt(x, w, gy, relu_y_ref, mean_ref, var_ref, eps, eval ? no_sums : sum_dy_ref,
                                    eval ? no_sums : sum_dy_xmu_ref, count, gx_ref);
      check_close(gx, gx_ref, tol * 10, tol * 10, "batch norm backward elemt: gx");
    }

    const Tensor rm = rand({c.c}, -1, 1, dtype, Device::cpu(), gen),
                 rv = rand({c.c}, 0.5, 2, dtype, Device::cpu(), gen);
    kernels.batch_norm_elemt(x_dev, on(device, w), on(device, b), on(device, rm), on(device, rv), eps, relu, y);
    ref.batch_norm_elemt(x, w, b, rm, rv, eps, relu, y_ref);
    check_close(y, y_ref, tol, tol, "batch norm elemt by running statistics");
  }
}

// Max and average pooling, forward and backward. With `ties`, the input holds few distinct values
// (and a NaN), so windows have tied maxima.
inline void check_pooling(const LayerKernels& kernels, Device device, const LayerKernels& ref, const WindowCase& c,
                          bool prefix, DType dtype, double tol, Generator& gen) {
  CAPTURE(c.n);
  CAPTURE(c.c);
  CAPTURE(c.h);
  CAPTURE(c.k);
  CAPTURE(c.stride);
  CAPTURE(c.pad);
  CAPTURE(prefix);
  const WindowGeometry g = geometry_of(c, true);
  Tensor x = sample_input(c, prefix, dtype, Device::cpu(), gen);
  if (prefix) {  // ties: round to quarters
    std::vector<double> v = (x * 4.0).to_vector<double>();
    for (double& e : v) e = std::round(e);
    v[v.size() / 2] = std::nan("");
    x.copy_(from_vector(v, x.shape(), dtype) / 4.0);
  }
  Tensor x_dev = sample_input(c, prefix, dtype, device, gen);
  x_dev.copy_(x.to(device));
  const Tensor gy = rand({c.n, c.c, g.oh, g.ow}, -1, 1, dtype, Device::cpu(), gen), gy_dev = on(device, gy);

  Tensor y = empty_on(gy, device), y_ref = empty_on(gy, Device::cpu());
  kernels.max_pool_forward(x_dev, y, g);
  ref.max_pool_forward(x, y_ref, g);
  check_close(y, y_ref, 0, 0, "max pool forward");
  Tensor gx = Tensor::empty({c.n, c.c, c.h, c.w}, dtype, device), gx_ref = Tensor::empty({c.n, c.c, c.h, c.w}, dtype);
  kernels.max_pool_backward(x_dev, y, gy_dev, gx, g);
  ref.max_pool_backward(x, y_ref, gy, gx_ref, g);
  check_close(gx, gx_ref, tol, tol, "max pool backward");

  kernels.avg_pool_forward(x_dev, y, g);
  ref.avg_pool_forward(x, y_ref, g);
  check_close(y, y_ref, tol, tol, "avg pool forward");
  kernels.avg_pool_backward(gy_dev, gx, g);
  ref.avg_pool_backward(gy, gx_ref, g);
  check_close(gx, gx_ref, tol, tol, "avg pool backward");
}

// Channel scale forward and backward on x [n, c, h, w] (a channel prefix when `prefix`).
inline void check_channel_scale(const LayerKernels& kernels, Device device, const LayerKernels& ref,
                                const WindowCase& c, bool prefix, DType dtype, double tol, Generator& gen) {
  CAPTURE(c.n);
  CAPTURE(c.c);
  CAPTURE(c.h);
  CAPTURE(c.w);
  CAPTURE(prefix);
  CAPTURE(dtype);
  const Tensor x = sample_input(c, prefix, dtype, Device::cpu(), gen);
  Tensor x_dev = sample_input(c, prefix, dtype, device, gen);
  x_dev.copy_(x.to(device));
  const Tensor s = rand({c.n, c.c}, 0, 1, dtype, Device::cpu(), gen);
  const Tensor gy = rand({c.n, c.c, c.h, c.w}, -1, 1, dtype, Device::cpu(), gen);
  Tensor y = empty_on(gy, device), y_ref = empty_on(gy, Device::cpu());
  kernels.channel_scale_forward(x_dev, on(device, s), y);
  ref.channel_scale_forward(x, s, y_ref);
  check_close(y, y_ref, tol, tol, "channel scale forward");
  Tensor gx = empty_on(gy, device), gx_ref = empty_on(gy, Device::cpu()), gs = empty_on(s, device),
         gs_ref = empty_on(s, Device::cpu());
  kernels.channel_scale_backward(x_dev, on(device, s), on(device, gy), &gx, &gs);
  ref.channel_scale_backward(x, s, gy, &gx_ref, &gs_ref);
  check_close(gx, gx_ref, tol, tol, "channel scale backward: gx");
  check_close(gs, gs_ref, tol * 10, tol, "channel scale backward: gs");
}

// An empty batch [0, C, H, W] through every layer op on `device`, forward and backward: empty
// outputs and input gradients, zero parameter gradients, no error.
inline void check_empty_batch(Device device) {
  const Tensor x = zeros({0, 3, 8, 8}).to(device).set_requires_grad(true);
  const Tensor w = rand({4, 3, 3, 3}).to(device).set_requires_grad(true),
               b = zeros({4}).to(device).set_requires_grad(true);
  const Tensor gamma = ones({3}).to(device), beta = zeros({3}).to(device), mean = zeros({3}).to(device),
               var = ones({3}).to(device);
  const Tensor y = conv2d(x, w, b, {.stride = 1, .padding = 1});
  CHECK(y.shape() == Shape{0, 4, 8, 8});
  const Tensor pooled = max_pool2d(x, 3, 2, 1), averaged = avg_pool2d(x, 2, 2), global = global_avg_pool2d(x);
  CHECK(pooled.shape() == Shape{0, 3, 4, 4});
  CHECK(averaged.shape() == Shape{0, 3, 4, 4});
  const Tensor normed = batch_norm(x, gamma, beta, mean, var, /*training=*/false, 1e-5, /*relu=*/true).y;
  const Tensor scaled = channel_scale(x, zeros({0, 3}).to(device));
  backward(sum(y) + sum(pooled) + sum(averaged) + sum(global) + sum(normed) + sum(scaled));
  CHECK(x.grad().shape() == x.shape());
  CHECK(w.grad().device() == device);
  check_close(w.grad(), zeros({4, 3, 3, 3}), 0, 0, "the filter gradient of an empty batch");
  check_close(b.grad(), zeros({4}), 0, 0, "the bias gradient of an empty batch");
}

// Batch norm's statistics on `device` do not depend on what the caching allocator's reused blocks
// held: every block of the statistics' size is NaN before the call.
inline void check_batch_norm_ignores_reused_bytes(const LayerKernels& kernels, Device device, const LayerKernels& ref) {
  Generator gen(3);
  const int64_t c = 5;
  std::vector<Tensor> poison;
  for (int i = 0; i < 16; ++i) poison.push_back(full({c}, std::nan("")).to(device));
  poison.clear();  // back to the cache, NaN inside
  const Tensor x = rand({4, c, 3, 3}, -1, 1, DType::Float32, Device::cpu(), gen);
  Tensor mean = Tensor::empty({c}, x.dtype(), device);
  Tensor var = full({c}, std::nan("")).to(device);  // the caller's output, NaN before the call
  Tensor mean_ref = Tensor::empty({c}), var_ref = Tensor::empty({c});
  kernels.batch_norm_stats(x.to(device), mean, var);
  ref.batch_norm_stats(x, mean_ref, var_ref);
  check_close(mean, mean_ref, 1e-6, 1e-5, "batch mean");
  check_close(var, var_ref, 1e-6, 1e-5, "batch variance");
}

}  // namespace rg::test
