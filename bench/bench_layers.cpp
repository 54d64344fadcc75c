// Layer kernel benchmarks at DenseNet121's real shapes (batch 8, 224 px), through the tables of
// layers/kernels.h: the fast CPU kernels, the plain reference (small shapes only: it is slow on
// purpose) and cuDNN when a GPU is present.
//
//   build/bin/bench_layers                               all of them
//   build/bin/bench_layers --benchmark_filter=Conv       one family
// Rates: convolutions in GFLOP/s (2 per multiply-add), the rest in GB/s of tensor data moved.
#include <benchmark/benchmark.h>

#include "layers/kernels.h"
#include "tensor/backend.h"
#include "tensor/random.h"

using namespace rg;

namespace {

enum Engine { kFast = 0, kReference = 1, kCuda = 2 };

const LayerKernels* engine_kernels(benchmark::State& state, int engine) {
  if (engine == kFast) return &cpu::layer_kernels();
  if (engine == kReference) return &cpu::reference_layer_kernels();
  if (!cuda_is_available()) {
    state.SkipWithError(("no GPU: " + cuda_unavailable_reason()).c_str());
    return nullptr;
  }
  return &layer_kernels_for(Device::cuda());
}

Device engine_device(int engine) { return engine == kCuda ? Device::cuda() : Device::cpu(); }

// Waits for queued GPU work by reading one element back.
void sync(const Tensor& t) { benchmark::DoNotOptimize(make_view(t, {1}, {1}, 0).item<float>()); }

Tensor random(const Shape& shape, int engine, uint64_t seed) {
  Generator gen(seed);
  return rand(shape, -1, 1, DType::Float32, Device::cpu(), gen).to(engine_device(engine));
}

void rate(benchmark::State& state, const char* name, double per_iteration) {
  state.counters[name] = benchmark::Counter(per_iteration * double(state.iterations()), benchmark::Counter::kIsRate,
                                            benchmark::Counter::kIs1000);
}

// Convolution forward: args engine, batch, channels in, size, channels out, kernel (padding k/2).
void BM_ConvForward(benchmark::State& state) {
  const int engine = int(state.range(0));
  const int64_t n = state.range(1), c = state.range(2), s = state.range(3), o = state.range(4), k = state.range(5);
  const LayerKernels* kernels = engine_kernels(state, engine);
  if (!kernels) return;
  const Tensor x = random({n, c, s, s}, engine, 1), w = random({o, c, k, k}, engine, 2);
  const WindowGeometry g = window_geometry(x, o, k, k, 1, k / 2, 1, "bench");
  Tensor y = Tensor::empty({n, o, g.oh, g.ow}, DType::Float32, engine_device(engine));
  for (auto _ : state) {
    kernels->conv_forward(x, w, Tensor(), y, g);
    sync(y);
  }
  rate(state, "GFLOP/s", 2.0 * double(n * o * g.oh * g.ow * c * k * k) / 1e9);
}

// Batch norm in training mode over [batch, channels, size, size]: reads x twice, writes y.
void BM_BatchNormTrain(benchmark::State& state) {
  const int engine = int(state.range(0));
  const int64_t n = state.range(1), c = state.range(2), s = state.range(3);
  const LayerKernels* kernels = engine_kernels(state, engine);
  if (!kernels) return;
  const Tensor x = random({n, c, s, s}, engine, 3), w = random({c}, engine, 4), b = random({c}, engine, 5);
  Tensor y = Tensor::empty(x.shape(), DType::Float32, engine_device(engine));
  Tensor mean = Tensor::empty({c}, DType::Float32, engine_device(engine)), invstd = mean.to(mean.device()),
         var = mean.to(mean.device());
  for (auto _ : state) {
    kernels->batch_norm_train(x, w, b, 1e-5, y, mean, invstd, var);
    sync(y);
  }
  rate(state, "GB/s", 3.0 * double(x.numel()) * 4 / 1e9);
}

// 3x3 max pool, stride 2, padding 1 (DenseNet's stem) over [batch, 64, size, size].
void BM_MaxPool(benchmark::State& state) {
  const int engine = int(state.range(0));
  const int64_t n = state.range(1), c = state.range(2), s = state.range(3);
  const LayerKernels* kernels = engine_kernels(state, engine);
  if (!kernels) return;
  const Tensor x = random({n, c, s, s}, engine, 6);
  const WindowGeometry g = window_geometry(x, c, 3, 3, 2, 1, 1, "bench");
  Tensor y = Tensor::empty({n, c, g.oh, g.ow}, DType::Float32, engine_device(engine));
  for (auto _ : state) {
    kernels->max_pool_forward(x, y, g);
    sync(y);
  }
  rate(state, "GB/s", double(x.numel() + y.numel()) * 4 / 1e9);
}

// Squeeze-and-excitation's channel scale, forward and backward, over [batch, channels, size, size].
void BM_ChannelScale(benchmark::State& state) {
  const int engine = int(state.range(0));
  const int64_t n = state.range(1), c = state.range(2), s = state.range(3);
  const LayerKernels* kernels = engine_kernels(state, engine);
  if (!kernels) return;
  const Tensor x = random({n, c, s, s}, engine, 7), scale = random({n, c}, engine, 8), gy = random({n, c, s, s}, engine, 9);
  Tensor y = Tensor::empty(x.shape(), DType::Float32, engine_device(engine)), gx = y.to(y.device()),
         gs = Tensor::empty({n, c}, DType::Float32, engine_device(engine));
  for (auto _ : state) {
    kernels->channel_scale_forward(x, scale, y);
    kernels->channel_scale_backward(x, scale, gy, &gx, &gs);
    sync(gs);
  }
  rate(state, "GB/s", 5.0 * double(x.numel()) * 4 / 1e9);  // x, y; then x, gy, gx
}

// DenseNet121 at batch 8, 224 px: block 1 (56x56) and block 4 (7x7) shapes; the reference kernels
// only on a batch of 1 at block 4.
void conv_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"engine", "n", "c", "s", "o", "k"});
  for (int engine : {kFast, kCuda}) {
    b->Args({engine, 8, 256, 56, 128, 1});   // block 1's last bottleneck (1x1 over the concatenation)
    b->Args({engine, 8, 128, 56, 32, 3});    // block 1's 3x3
    b->Args({engine, 8, 992, 7, 128, 1});    // block 4's last bottleneck
    b->Args({engine, 8, 128, 7, 32, 3});     // block 4's 3x3
  }
  b->Args({kReference, 1, 128, 7, 32, 3});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

void plane_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"engine", "n", "c", "s"});
  for (int engine : {kFast, kCuda}) {
    b->Args({engine, 8, 64, 112});   // the stem, before the max pool
    b->Args({engine, 8, 256, 56});   // after block 1
    b->Args({engine, 8, 1024, 7});   // after block 4
  }
  b->Args({kReference, 1, 256, 56});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_ConvForward)->Apply(conv_shapes);
BENCHMARK(BM_BatchNormTrain)->Apply(plane_shapes);
BENCHMARK(BM_MaxPool)->Apply(plane_shapes);
BENCHMARK(BM_ChannelScale)->Apply(plane_shapes);

BENCHMARK_MAIN();
