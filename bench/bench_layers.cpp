// Layer kernel benchmarks at DenseNet121's real shapes (batch 8, 224 px), through the tables of
// layers/kernels.h: the fast CPU kernels, the plain reference (small shapes only: it is slow on
// purpose) and cuDNN when a GPU is present.
//
//   build/bin/bench_layers                               all of them
//   build/bin/bench_layers --benchmark_filter=Conv       one family
//   build/bin/bench_layers --conv-algo winograd          the CPU convolutions by one algorithm
//                                                        (auto|im2col|direct|winograd; default: each)
// Rates: convolutions in GFLOP/s (2 per multiply-add) and, on the CPU, as a fraction of the
// machine's measured sgemm peak (`of_sgemm_peak`: a 1024^3 sgemm on all threads, best of 5, printed
// at the start); the rest in GB/s of tensor data moved.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "layers/cpu/conv_algorithms.h"
#include "layers/conv_settings.h"
#include "layers/kernels.h"
#include "tensor/backend.h"
#include "tensor/cpu/gemm.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tensor/cpu/blas_core.h"

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
void sync(const Tensor& t) { benchmark::DoNotOptimize(view_untracked(t, {1}, {1}, 0).item<float>()); }

Tensor random(const Shape& shape, int engine, uint64_t seed) {
  Generator gen(seed);
  return rand(shape, -1, 1, DType::Float32, Device::cpu(), gen).to(engine_device(engine));
}

void rate(benchmark::State& state, const char* name, double per_iteration) {
  state.counters[name] = benchmark::Counter(per_iteration * double(state.iterations()), benchmark::Counter::kIsRate,
                                            benchmark::Counter::kIs1000);
}

// The sgemm rate of this machine, GFLOP/s: 1024^3 on all threads through tensor/cpu/gemm.h.
double sgemm_peak() {
  static const double peak = [] {
    const int64_t n = 1024;
    std::vector<float> a(size_t(n * n), 0.5f), b(size_t(n * n), 0.25f), c(size_t(n * n));
    double best = 0;
    for (int r = 0; r < 5; ++r) {
      const auto start = std::chrono::steady_clock::now();
      cpu::gemm<float>(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      best = std::max(best, 2.0 * double(n * n * n) / s / 1e9);
    }
    std::printf("sgemm peak: %.1f GFLOP/s (1024^3, %d threads)\n", best, num_threads());
    return best;
  }();
  return peak;
}

// Convolutions: args engine, batch, channels in, size, channels out, kernel (padding k/2), the CPU
// algorithm (an index into cpu_conv_algo_names(), 0 for auto; the label names the one that ran: a
// forced one that does not apply to the shape falls back to auto's choice).
using cpu::ConvPass;

void conv_bench(benchmark::State& state, ConvPass pass) {
  const int engine = int(state.range(0));
  const int64_t n = state.range(1), c = state.range(2), s = state.range(3), o = state.range(4), k = state.range(5);
  conv_settings().cpu_algo = cpu_conv_algo_names().at(size_t(state.range(6)));
  const LayerKernels* kernels = engine_kernels(state, engine);
  if (!kernels) return;
  const Tensor x = random({n, c, s, s}, engine, 1), w = random({o, c, k, k}, engine, 2);
  const WindowGeometry g = window_geometry(x, o, k, k, 1, k / 2, 1, "bench");
  const Tensor gy = random({n, o, g.oh, g.ow}, engine, 10);
  Tensor y = Tensor::empty({n, o, g.oh, g.ow}, DType::Float32, engine_device(engine));
  Tensor gx = Tensor::empty(x.shape(), DType::Float32, engine_device(engine));
  Tensor gw = Tensor::empty(w.shape(), DType::Float32, engine_device(engine));
  const double gflop = 2.0 * double(n * o * g.oh * g.ow * c * k * k) / 1e9;  // the same for all three
  if (engine == kFast) state.SetLabel(std::string(cpu::conv_algorithm(g, pass)));
  if (engine != kCuda) sgemm_peak();  // measured before the timing starts
  for (auto _ : state) {
    if (pass == ConvPass::Forward) kernels->conv_forward(x, w, Tensor(), y, g);
    if (pass == ConvPass::BackwardData) kernels->conv_backward_data(w, gy, gx, g);
    if (pass == ConvPass::BackwardFilter) kernels->conv_backward_filter(x, gy, gw, nullptr, g);
    sync(pass == ConvPass::Forward ? y : pass == ConvPass::BackwardData ? gx : gw);
  }
  rate(state, "GFLOP/s", gflop);
  if (engine != kCuda) {
    // GFLOP per second over the peak: a rate counter divides by the elapsed time.
    state.counters["of_sgemm_peak"] =
        benchmark::Counter(gflop * double(state.iterations()) / sgemm_peak(), benchmark::Counter::kIsRate);
  }
}

void BM_ConvForward(benchmark::State& state) { conv_bench(state, ConvPass::Forward); }
void BM_ConvBackwardData(benchmark::State& state) { conv_bench(state, ConvPass::BackwardData); }
void BM_ConvBackwardFilter(benchmark::State& state) { conv_bench(state, ConvPass::BackwardFilter); }

// Batch norm in training mode over [batch, channels, size, size], its statistics and normalization
// steps: reads x twice, writes y.
void BM_BatchNormTrain(benchmark::State& state) {
  const int engine = int(state.range(0));
  const int64_t n = state.range(1), c = state.range(2), s = state.range(3);
  const LayerKernels* kernels = engine_kernels(state, engine);
  if (!kernels) return;
  const Tensor x = random({n, c, s, s}, engine, 3), w = random({c}, engine, 4), b = random({c}, engine, 5);
  Tensor y = Tensor::empty(x.shape(), DType::Float32, engine_device(engine));
  Tensor mean = Tensor::empty({c}, DType::Float32, engine_device(engine)),
         var = Tensor::empty({c}, DType::Float32, engine_device(engine));
  for (auto _ : state) {
    kernels->batch_norm_stats(x, mean, var);
    kernels->batch_norm_elemt(x, w, b, mean, var, 1e-5, false, y);
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
  const Tensor x = random({n, c, s, s}, engine, 7), scale = random({n, c}, engine, 8),
               gy = random({n, c, s, s}, engine, 9);
  Tensor y = Tensor::empty(x.shape(), DType::Float32, engine_device(engine)), gx = y.to(y.device()),
         gs = Tensor::empty({n, c}, DType::Float32, engine_device(engine));
  for (auto _ : state) {
    kernels->channel_scale_forward(x, scale, y);
    kernels->channel_scale_backward(x, scale, gy, &gx, &gs);
    sync(gs);
  }
  rate(state, "GB/s", 5.0 * double(x.numel()) * 4 / 1e9);  // x, y; then x, gy, gx
}

// DenseNet121 at batch 8, 224 px: block 1 (56x56) and block 4 (7x7) shapes, and the 3x3 of blocks
// 2 and 3; the reference kernels only on a batch of 1 at block 4.
std::vector<int64_t> conv_algos = [] {  // every algorithm of the table, auto first
  std::vector<int64_t> all;
  for (size_t i = 0; i < cpu_conv_algo_names().size(); ++i) all.push_back(int64_t(i));
  return all;
}();

void conv_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"engine", "n", "c", "s", "o", "k", "algo"});
  const int64_t shapes[][5] = {{8, 256, 56, 128, 1},  // block 1's last bottleneck (1x1 over the concatenation)
                               {8, 128, 56, 32, 3},   // block 1's 3x3
                               {8, 128, 28, 32, 3},   // block 2's
                               {8, 128, 14, 32, 3},   // block 3's
                               {8, 992, 7, 128, 1},   // block 4's last bottleneck
                               {8, 128, 7, 32, 3}};   // block 4's 3x3
  for (const auto& sh : shapes) {
    for (int64_t algo : conv_algos)
      if (sh[4] == 3 || algo == 0) b->Args({kFast, sh[0], sh[1], sh[2], sh[3], sh[4], algo});
    b->Args({kCuda, sh[0], sh[1], sh[2], sh[3], sh[4], 0});
  }
  b->Args({kReference, 1, 128, 7, 32, 3, 0});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

void plane_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"engine", "n", "c", "s"});
  for (int engine : {kFast, kCuda}) {
    b->Args({engine, 8, 64, 112});  // the stem, before the max pool
    b->Args({engine, 8, 256, 56});  // after block 1
    b->Args({engine, 8, 1024, 7});  // after block 4
  }
  b->Args({kReference, 1, 256, 56});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_BatchNormTrain)->Apply(plane_shapes);
BENCHMARK(BM_MaxPool)->Apply(plane_shapes);
BENCHMARK(BM_ChannelScale)->Apply(plane_shapes);

int main(int argc, char** argv) {
  rg::cpu::correct_blas_core();  // first: may run the program again (tensor/cpu/blas_core.h)
  // --conv-algo NAME: only that CPU algorithm (Google Benchmark's own flags pass through).
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--conv-algo=", 0) == 0 || (arg == "--conv-algo" && i + 1 < argc)) {
      const std::string name = arg == "--conv-algo" ? argv[++i] : arg.substr(12);
      const std::vector<std::string> names = cpu_conv_algo_names();
      conv_algos = {int64_t(std::find(names.begin(), names.end(), parse_cpu_conv_algo(name)) - names.begin())};
      continue;
    }
    rest.push_back(argv[i]);
  }
  int rest_argc = int(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  benchmark::RegisterBenchmark("BM_ConvForward", BM_ConvForward)->Apply(conv_shapes);
  benchmark::RegisterBenchmark("BM_ConvBackwardData", BM_ConvBackwardData)->Apply(conv_shapes);
  benchmark::RegisterBenchmark("BM_ConvBackwardFilter", BM_ConvBackwardFilter)->Apply(conv_shapes);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
