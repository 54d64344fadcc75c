// What of the CUDA backend runs without a GPU (cuda_host_tests, CUDA builds only): cuDNN's own
// output-size functions agree with our window geometry, the convolution plan cache keys, hits and
// misses as it should (with a stand-in chooser in place of cuDNN's heuristics), and the caching
// allocator's block pool splits, merges and counts (over host memory).
#include <doctest/doctest.h>

#include <cstdlib>

#include "layer_kernel_checks.h"
#include "layers/cuda/conv_plan.h"
#include "tensor/cuda/block_pool.h"

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

namespace {

// A block pool over host memory, counting the segments it takes and gives back.
struct HostPool {
  int grown = 0, released = 0;
  cuda::BlockPool pool{[this](size_t bytes) {
                         ++grown;
                         return std::malloc(bytes);
                       },
                       [this](void* ptr) {
                         ++released;
                         std::free(ptr);
                       }};
};

}  // namespace

TEST_CASE("caching allocator: blocks are rounded, split from shared segments, reused and counted apart") {
  HostPool h;
  char* a = static_cast<char*>(h.pool.allocate(3000));  // 3072 bytes of a new 2 MiB segment
  CHECK(h.grown == 1);
  CHECK(h.pool.stats().requested_bytes == 3000);
  CHECK(h.pool.stats().current_bytes == 3072);
  CHECK(h.pool.stats().reserved_bytes == (2u << 20));
  char* b = static_cast<char*>(h.pool.allocate(100));  // the rest of the segment, split again
  CHECK(b == a + 3072);
  CHECK(h.grown == 1);
  h.pool.deallocate(a);
  CHECK(h.pool.stats().current_bytes == 512);
  CHECK(h.pool.stats().requested_bytes == 100);
  char* c = static_cast<char*>(h.pool.allocate(1000));  // the smallest free block that fits: a's
  CHECK(c == a);
  CHECK(h.pool.stats().peak_bytes == 3072 + 512);
  h.pool.reset_peak();
  CHECK(h.pool.stats().peak_bytes == 1024 + 512);

  // A large request gets its own segment, rounded to 2 MiB; a 1 MiB rest is split off and reused.
  char* big = static_cast<char*>(h.pool.allocate(5u << 20));
  CHECK(h.grown == 2);
  CHECK(h.pool.stats().reserved_bytes == (2u << 20) + (6u << 20));
  char* rest = static_cast<char*>(h.pool.allocate(1u << 20));
  CHECK(rest == big + (5u << 20));
  CHECK(h.grown == 2);
}

TEST_CASE("caching allocator: freed neighbours merge, whole free segments go back, bad frees are errors") {
  HostPool h;
  void* a = h.pool.allocate(4096);
  void* b = h.pool.allocate(4096);
  void* c = h.pool.allocate(4096);
  h.pool.deallocate(a);
  h.pool.deallocate(c);  // merges with the segment's free tail
  h.pool.release_free_segments();
  CHECK(h.released == 0);  // b still holds the segment
  h.pool.deallocate(b);    // a, b and the tail become one block: the whole segment
  CHECK(h.pool.free_blocks() == 1);
  CHECK(h.pool.stats().current_bytes == 0);
  CHECK(h.pool.stats().requested_bytes == 0);
  h.pool.release_free_segments();
  CHECK(h.released == 1);
  CHECK(h.pool.stats().reserved_bytes == 0);

  void* d = h.pool.allocate(64);
  h.pool.deallocate(d);
  CHECK_THROWS_WITH_AS(h.pool.deallocate(d), doctest::Contains("not an allocated block (freed twice"), Error);
  int not_ours = 0;
  CHECK_THROWS_WITH_AS(h.pool.deallocate(&not_ours), doctest::Contains("not an allocated block"), Error);
}
