// What of the CUDA backend runs without a GPU (cuda_host_tests, CUDA builds only): cuDNN's own
// output-size functions agree with our window geometry, the convolution plan cache keys, hits and
// misses as it should (with a stand-in chooser in place of cuDNN's heuristics).
#include <doctest/doctest.h>

#include "layer_kernel_checks.h"
#include "layers/cuda/conv_plan.h"
#include "layers/cuda/cudnn_kernels.h"
#include "tensor/cuda/cuda_backend.h"

using namespace rg;
using namespace rg::test;

TEST_CASE("every entry of the CUDA backend's table and of the cuDNN layer kernels' is set") {
  CHECK(null_entries(cuda::backend()).empty());
  CHECK(null_entries(cuda::layer_kernels()).empty());
}

TEST_CASE("cuDNN's convolution output size equals window_output_size, strided inputs included") {
  std::vector<WindowCase> cases = conv_cases();
  for (const WindowCase& c : densenet121_conv_cases(3, 320)) cases.push_back(c);
  for (const WindowCase& c : cases)
    for (bool prefix : {false, true}) {
      CAPTURE(c.c);
      CAPTURE(c.h);
      CAPTURE(c.k);
      CAPTURE(c.stride);
      CAPTURE(c.pad);
      CAPTURE(c.dil);
      CAPTURE(prefix);
      const WindowGeometry g = geometry_of(c, false);
      const cuda::ConvKey key = cuda::conv_key(g, (c.c + (prefix ? 5 : 0)) * c.h * c.w, DType::Float32);
      const cuda::ConvPlan plan = cuda::make_conv_plan(key);
      int n = 0, o = 0, oh = 0, ow = 0;
      REQUIRE(cudnnGetConvolution2dForwardOutputDim(plan.fwd_conv.get(), plan.x.get(), plan.w.get(), &n, &o, &oh,
                                                    &ow) == CUDNN_STATUS_SUCCESS);
      CHECK(n == g.n);
      CHECK(o == g.o);
      CHECK(oh == g.oh);
      CHECK(ow == g.ow);
    }
}

TEST_CASE("cuDNN's pooling output size equals window_output_size") {
  for (const WindowCase& c : pool_cases()) {
    CAPTURE(c.h);
    CAPTURE(c.w);
    CAPTURE(c.k);
    CAPTURE(c.stride);
    CAPTURE(c.pad);
    const WindowGeometry g = geometry_of(c, true);
    cudnnPoolingDescriptor_t pool;
    REQUIRE(cudnnCreatePoolingDescriptor(&pool) == CUDNN_STATUS_SUCCESS);
    cuda::PoolDesc owned(pool);
    REQUIRE(cudnnSetPooling2dDescriptor(pool, CUDNN_POOLING_MAX_DETERMINISTIC, CUDNN_PROPAGATE_NAN, int(c.k), int(c.k),
                                        int(c.pad), int(c.pad), int(c.stride), int(c.stride)) == CUDNN_STATUS_SUCCESS);
    const cuda::TensorDesc x =
        cuda::tensor_desc(DType::Float32, c.n, c.c, c.h, c.w, c.c * c.h * c.w, c.h * c.w, c.w, 1);
    int n = 0, ch = 0, oh = 0, ow = 0;
    REQUIRE(cudnnGetPooling2dForwardOutputDim(pool, x.get(), &n, &ch, &oh, &ow) == CUDNN_STATUS_SUCCESS);
    CHECK(oh == g.oh);
    CHECK(ow == g.ow);
    CHECK(ch == g.c);
  }
}

namespace {

// A chooser that counts its calls and offers `count` candidates per direction, the first with a
// 128-byte workspace.
cuda::ConvChooser stand_in_chooser(int (&chosen)[3], int count = 1) {
  cuda::ConvChooser c;
  c.fwd = [&chosen, count](const cuda::ConvKey&, const cuda::ConvPlan&) {
    ++chosen[0];
    std::vector<cuda::FwdAlgo> out;
    for (int i = 0; i < count; ++i)
      out.push_back({cudnnConvolutionFwdAlgo_t(i), CUDNN_FMA_MATH, i == 0 ? size_t(128) : size_t(0)});
    return out;
  };
  c.data = [&chosen](const cuda::ConvKey&, const cuda::ConvPlan&) {
    ++chosen[1];
    return std::vector<cuda::DataAlgo>{{CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_FMA_MATH, 0}};
  };
  c.filter = [&chosen](const cuda::ConvKey&, const cuda::ConvPlan&) {
    ++chosen[2];
    return std::vector<cuda::FilterAlgo>{{CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_FMA_MATH, 0}};
  };
  return c;
}

const WindowGeometry kBlockConv = geometry_of({2, 64, 56, 56, 128, 1, 1, 0, 1}, false);

}  // namespace

TEST_CASE("the convolution plan cache: one plan per distinct key, each direction chosen once") {
  int chosen[3] = {0, 0, 0};
  const cuda::ConvChooser stand_in = stand_in_chooser(chosen);
  cuda::ConvPlanCache cache;
  const cuda::ConvKey base = cuda::conv_key(kBlockConv, 64 * 56 * 56, DType::Float32);
  auto make = [&] { return stand_in; };
  auto run = [&](const cuda::ConvKey& key) {
    cuda::ConvPlan& plan = cache.plan(key);
    CHECK(cache.fwd(key, plan, make).front().workspace == 128);
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
  // determinism, timing, the workspace limit, the stride, the batch size.
  std::vector<cuda::ConvKey> keys(8, base);
  keys[0].x_batch_stride = 96 * 56 * 56;
  keys[1].dtype = DType::Float64;
  keys[2].tf32 = true;
  keys[3].deterministic = true;
  keys[4].benchmark = true;
  keys[5].workspace_limit = 0;
  keys[6].sh = keys[6].sw = 2;
  keys[7].n = 3;
  for (const cuda::ConvKey& k : keys) run(k);
  CHECK(cache.size() == 9);
  CHECK(cache.misses() == 9);
  CHECK(chosen[0] == 9);

  // TF32 follows the switch, and only for float32; the timing switch and the limit are read too.
  conv_settings().tf32 = true;
  CHECK(cuda::conv_key(kBlockConv, 64 * 56 * 56, DType::Float32).tf32);
  CHECK(!cuda::conv_key(kBlockConv, 64 * 56 * 56, DType::Float64).tf32);
  conv_settings().tf32 = false;
  CHECK(!cuda::conv_key(kBlockConv, 64 * 56 * 56, DType::Float32).tf32);
  conv_settings().benchmark = true;
  conv_settings().workspace_limit = 4096;
  const cuda::ConvKey timed = cuda::conv_key(kBlockConv, 64 * 56 * 56, DType::Float32);
  conv_settings() = ConvSettings{};
  CHECK(timed.benchmark);
  CHECK(timed.workspace_limit == 4096);
}

TEST_CASE("a batch of 1 gets one plan whatever its batch stride") {
  const WindowGeometry one = geometry_of({1, 64, 56, 56, 128, 1, 1, 0, 1}, false);
  const cuda::ConvKey packed = cuda::conv_key(one, 64 * 56 * 56, DType::Float32);
  const cuda::ConvKey prefix = cuda::conv_key(one, 96 * 56 * 56, DType::Float32);
  CHECK(packed == prefix);
  CHECK(prefix.x_batch_stride == 64 * 56 * 56);
  CHECK(cuda::conv_key(kBlockConv, 96 * 56 * 56, DType::Float32).x_batch_stride == 96 * 56 * 56);  // batch 2 keeps it
}

TEST_CASE("an algorithm cuDNN refuses at run time is dropped for the next, and the one that worked is kept") {
  int chosen[3] = {0, 0, 0};
  const cuda::ConvChooser stand_in = stand_in_chooser(chosen, 3);
  cuda::ConvPlanCache cache;
  const cuda::ConvKey key = cuda::conv_key(kBlockConv, 64 * 56 * 56, DType::Float32);
  cuda::ConvPlan& plan = cache.plan(key);
  auto candidates = [&]() -> std::vector<cuda::FwdAlgo>& { return cache.fwd(key, plan, [&] { return stand_in; }); };
  auto no_workspace = [](size_t) { return Tensor(); };
  std::vector<int> tried;
  auto refuse_first = [&](const cuda::FwdAlgo& a, void*) {
    tried.push_back(int(a.algo));
    return a.algo == 0 ? CUDNN_STATUS_NOT_SUPPORTED_SHAPE : CUDNN_STATUS_SUCCESS;
  };
  cache.run<cudnnConvolutionFwdAlgo_t>(candidates(), plan.fwd_conv.get(), key, "forward", no_workspace, refuse_first);
  CHECK(tried == std::vector<int>{0, 1});
  CHECK(cache.fallbacks() == 1);
  cache.run<cudnnConvolutionFwdAlgo_t>(candidates(), plan.fwd_conv.get(), key, "forward", no_workspace, refuse_first);
  CHECK(tried == std::vector<int>{0, 1, 1});  // the one that worked, at once
  CHECK(chosen[0] == 1);

  // A workspace that cannot be had counts as a refusal too; a bad parameter is our mistake and ends the call.
  cuda::ConvPlanCache fresh;
  cuda::ConvPlan& plan2 = fresh.plan(key);
  auto& list = fresh.fwd(key, plan2, [&] { return stand_in; });
  auto out_of_memory = [](size_t bytes) -> Tensor {
    if (bytes > 0) throw Error("cudaMalloc failed: out of memory");
    return Tensor();
  };
  auto bad_param = [](const cuda::FwdAlgo& a, void*) {
    return a.algo == 1 ? CUDNN_STATUS_BAD_PARAM : CUDNN_STATUS_SUCCESS;
  };
  CHECK_THROWS_WITH_AS(
      fresh.run<cudnnConvolutionFwdAlgo_t>(list, plan2.fwd_conv.get(), key, "forward", out_of_memory, bad_param),
      doctest::Contains("algorithm 1: CUDNN_STATUS_BAD_PARAM"), Error);
  CHECK(fresh.fallbacks() == 1);  // algorithm 0, for its workspace
  CHECK(list.front().algo == 1);

  // When every candidate fails, the error says so and names the last reason.
  auto refuse_all = [](const cuda::FwdAlgo&, void*) { return CUDNN_STATUS_EXECUTION_FAILED; };
  CHECK_THROWS_WITH_AS(
      fresh.run<cudnnConvolutionFwdAlgo_t>(list, plan2.fwd_conv.get(), key, "forward", no_workspace, refuse_all),
      doctest::Contains("every algorithm that fits failed at run time"), Error);
}

TEST_CASE("cuDNN tensor descriptors: size-1 dims get packed strides, and a span past 2^31 is a clear error") {
  auto strides_of = [](const cuda::TensorDesc& d) {
    cudnnDataType_t type;
    int n, c, h, w, sn, sc, sh, sw;
    REQUIRE(cudnnGetTensor4dDescriptor(d.get(), &type, &n, &c, &h, &w, &sn, &sc, &sh, &sw) == CUDNN_STATUS_SUCCESS);
    return std::vector<int>{sn, sc, sh, sw};
  };
  // A batch-1 channel prefix of a [1, 96, 7, 7] buffer, and a [N, C] tensor seen as [N, C, 1, 1].
  CHECK(strides_of(cuda::tensor_desc(DType::Float32, 1, 64, 7, 7, 96 * 49, 49, 7, 1)) ==
        std::vector<int>{64 * 49, 49, 7, 1});
  CHECK(strides_of(cuda::tensor_desc(view_untracked(zeros({10}), {1, 5}, {7, 1}, 0))) == std::vector<int>{5, 1, 1, 1});
  CHECK(strides_of(cuda::tensor_desc(DType::Float32, 2, 64, 7, 7, 96 * 49, 49, 7, 1)) ==
        std::vector<int>{96 * 49, 49, 7, 1});
  CHECK_THROWS_WITH_AS(cuda::tensor_desc(DType::Float32, 1024, 1024, 64, 64, 1024 * 4096, 4096, 64, 1),
                       doctest::Contains("32-bit indexing"), Error);
  CHECK_THROWS_WITH_AS(cuda::tensor_desc(DType::Float32, 0, 3, 4, 4, 48, 16, 4, 1), doctest::Contains("sizes from 1"),
                       Error);
}
