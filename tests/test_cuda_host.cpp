// What of the CUDA backend runs without a GPU (cuda_host_tests, CUDA builds only): cuDNN's own
// output-size functions agree with our window geometry, the convolution plan cache keys, hits and
// misses as it should (with a stand-in chooser in place of cuDNN's heuristics).
#include <doctest/doctest.h>

#include "layer_kernel_checks.h"
#include "layers/cuda/conv_plan.h"

using namespace rg;
using namespace rg::test;

TEST_CASE("cuDNN's convolution output size equals window_output_size, strided inputs included") {
  std::vector<WindowCase> cases = conv_cases();
  for (const WindowCase& c : densenet121_conv_cases(3, 320)) cases.push_back(c);
  for (const WindowCase& c : cases)
    for (bool prefix : {false, true}) {
      CAPTURE(c.c); CAPTURE(c.h); CAPTURE(c.k); CAPTURE(c.stride); CAPTURE(c.pad); CAPTURE(c.dil); CAPTURE(prefix);
      const WindowGeometry g = geometry_of(c, false);
      const cuda::ConvKey key = cuda::conv_key(g, (c.c + (prefix ? 5 : 0)) * c.h * c.w, DType::Float32);
      const cuda::ConvPlan plan = cuda::make_conv_plan(key);
      int n = 0, o = 0, oh = 0, ow = 0;
      REQUIRE(cudnnGetConvolution2dForwardOutputDim(plan.fwd_conv.get(), plan.x.get(), plan.w.get(), &n, &o, &oh, &ow) ==
              CUDNN_STATUS_SUCCESS);
      CHECK(n == g.n);
      CHECK(o == g.o);
      CHECK(oh == g.oh);
      CHECK(ow == g.ow);
    }
}

TEST_CASE("cuDNN's pooling output size equals window_output_size") {
  for (const WindowCase& c : pool_cases()) {
    CAPTURE(c.h); CAPTURE(c.w); CAPTURE(c.k); CAPTURE(c.stride); CAPTURE(c.pad);
    const WindowGeometry g = geometry_of(c, true);
    cudnnPoolingDescriptor_t pool;
    REQUIRE(cudnnCreatePoolingDescriptor(&pool) == CUDNN_STATUS_SUCCESS);
    cuda::PoolDesc owned(pool);
    REQUIRE(cudnnSetPooling2dDescriptor(pool, CUDNN_POOLING_MAX_DETERMINISTIC, CUDNN_PROPAGATE_NAN, int(c.k), int(c.k),
                                        int(c.pad), int(c.pad), int(c.stride), int(c.stride)) == CUDNN_STATUS_SUCCESS);
    const cuda::TensorDesc x = cuda::tensor_desc(DType::Float32, c.n, c.c, c.h, c.w, c.c * c.h * c.w, c.h * c.w, c.w, 1);
    int n = 0, ch = 0, oh = 0, ow = 0;
    REQUIRE(cudnnGetPooling2dForwardOutputDim(pool, x.get(), &n, &ch, &oh, &ow) == CUDNN_STATUS_SUCCESS);
    CHECK(oh == g.oh);
    CHECK(ow == g.ow);
    CHECK(ch == g.c);
  }
}

TEST_CASE("the convolution plan cache: one plan per distinct key, each direction chosen once") {
  int chosen[3] = {0, 0, 0};
  cuda::ConvChooser stand_in;
  stand_in.fwd = [&](const cuda::ConvKey&, const cuda::ConvPlan&) {
    ++chosen[0];
    return cuda::FwdAlgo{CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_FMA_MATH, 128};
  };
  stand_in.data = [&](const cuda::ConvKey&, const cuda::ConvPlan&) {
    ++chosen[1];
    return cuda::DataAlgo{CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_FMA_MATH, 0};
  };
  stand_in.filter = [&](const cuda::ConvKey&, const cuda::ConvPlan&) {
    ++chosen[2];
    return cuda::FilterAlgo{CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_FMA_MATH, 0};
  };
  cuda::ConvPlanCache cache;
  const WindowGeometry g = geometry_of({2, 64, 56, 56, 128, 1, 1, 0, 1}, false);
  const cuda::ConvKey base = cuda::conv_key(g, 64 * 56 * 56, DType::Float32);
  auto make = [&] { return stand_in; };
  auto run = [&](const cuda::ConvKey& key) {
    cuda::ConvPlan& plan = cache.plan(key);
    CHECK(cache.fwd(key, plan, make).workspace == 128);
    cache.data(key, plan, make);
    cache.filter(key, plan, make);
  };
  run(base);
  run(base);
  CHECK(cache.misses() == 1);
  CHECK(cache.hits() == 1);
  CHECK(chosen[0] == 1);
  CHECK(chosen[1] == 1);
  CHECK(chosen[2] == 1);

  // Each field of the key makes a new plan: the batch stride (a channel prefix), the dtype, TF32,
  // determinism, the stride, the batch size.
  cuda::ConvKey prefix = base, f64 = base, tf32 = base, deterministic = base, strided = base, batch = base;
  prefix.x_batch_stride = 96 * 56 * 56;
  f64.dtype = DType::Float64;
  tf32.tf32 = true;
  deterministic.deterministic = true;
  strided.sh = strided.sw = 2;
  batch.n = 3;
  for (const cuda::ConvKey& k : {prefix, f64, tf32, deterministic, strided, batch}) run(k);
  CHECK(cache.size() == 7);
  CHECK(cache.misses() == 7);
  CHECK(chosen[0] == 7);

  // TF32 follows the switch, and only for float32.
  conv_settings().tf32 = true;
  CHECK(cuda::conv_key(g, 64 * 56 * 56, DType::Float32).tf32);
  CHECK(!cuda::conv_key(g, 64 * 56 * 56, DType::Float64).tf32);
  conv_settings().tf32 = false;
  CHECK(!cuda::conv_key(g, 64 * 56 * 56, DType::Float32).tf32);
}
