// Kernel benchmarks: elementwise add and sum reduction (GB/s), matmul (GFLOP/s), each on the fast
// CPU backend, on the plain reference kernels, and on CUDA when a GPU is present.
//
//   build/bin/bench_kernels                         all of them
//   build/bin/bench_kernels --benchmark_filter=Matmul
//   bench/compare_torch.py                          the same, next to PyTorch, with ratios
#include <benchmark/benchmark.h>

#include "autograd/ops.h"
#include "tensor/backend.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/reference.h"
#include "tensor/random.h"

using namespace rg;

namespace {

enum Engine { kFast = 0, kReference = 1, kCuda = 2 };

const Backend* engine_backend(benchmark::State& state, int engine) {
  if (engine == kFast) return &cpu::backend();
  if (engine == kReference) return &cpu::reference::backend();
  if (!cuda_is_available()) {
    state.SkipWithError(("no GPU: " + cuda_unavailable_reason()).c_str());
    return nullptr;
  }
  return &backend_for(Device::cuda());
}

Device engine_device(int engine) { return engine == kCuda ? Device::cuda() : Device::cpu(); }

// Waits for queued GPU work by reading one element back (a no-op cost on the CPU).
void sync(const Tensor& t) { benchmark::DoNotOptimize(view_untracked(t, {1}, {1}, 0).item<float>()); }

// out = a + b on n float32 elements: 12 bytes move per element.
void BM_Add(benchmark::State& state) {
  const int engine = int(state.range(0));
  const int64_t n = state.range(1);
  const Backend* backend = engine_backend(state, engine);
  if (!backend) return;
  Generator gen(1);
  Tensor a = rand({n}, -1, 1, DType::Float32, engine_device(engine), gen);
  Tensor b = rand({n}, -1, 1, DType::Float32, engine_device(engine), gen);
  Tensor out = Tensor::empty({n}, DType::Float32, engine_device(engine));
  for (auto _ : state) {
    backend->binary(BinaryOp::Add, a, b, out);
    sync(out);
  }
  state.SetBytesProcessed(state.iterations() * n * 12);
}

// Sum of n float32 elements down to one: 4 bytes read per element.
void BM_Sum(benchmark::State& state) {
  const int engine = int(state.range(0));
  const int64_t n = state.range(1);
  const Backend* backend = engine_backend(state, engine);
  if (!backend) return;
  Generator gen(2);
  Tensor x = rand({n}, -1, 1, DType::Float32, engine_device(engine), gen);
  Tensor out = Tensor::empty({1}, DType::Float32, engine_device(engine));
  for (auto _ : state) {
    backend->reduce(ReduceOp::Sum, x, out);
    sync(out);
  }
  state.SetBytesProcessed(state.iterations() * n * 4);
}

// [n, n] @ [n, n] in float32: 2 n^3 floating-point operations.
void BM_Matmul(benchmark::State& state) {
  const int engine = int(state.range(0));
  const int64_t n = state.range(1);
  const Backend* backend = engine_backend(state, engine);
  if (!backend) return;
  Generator gen(3);
  Tensor a = rand({1, n, n}, -1, 1, DType::Float32, engine_device(engine), gen);
  Tensor b = rand({1, n, n}, -1, 1, DType::Float32, engine_device(engine), gen);
  Tensor out = Tensor::empty({1, n, n}, DType::Float32, engine_device(engine));
  for (auto _ : state) {
    backend->matmul(a, b, out);
    sync(out);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(n) * double(n) * double(n) * double(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void engines_and_sizes(benchmark::internal::Benchmark* b, std::vector<int64_t> sizes, bool reference) {
  b->ArgNames({"engine", "n"});
  for (int engine : {kFast, kReference, kCuda}) {
    if (engine == kReference && !reference) continue;
    for (int64_t n : sizes) b->Args({engine, n});
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_Add)->Apply([](auto* b) { engines_and_sizes(b, {1 << 20, 1 << 24}, true); });
BENCHMARK(BM_Sum)->Apply([](auto* b) { engines_and_sizes(b, {1 << 20, 1 << 24}, true); });
BENCHMARK(BM_Matmul)->Apply([](auto* b) { engines_and_sizes(b, {512, 1024, 2048}, true); });

// main: bench/bench_main.cpp
