// DenseNet121 inference throughput on the CPU: eval mode, no gradients, random weights and
// inputs (the arithmetic does not depend on the values), at 224 and 320 pixels, batch 1 and 8.
//
//   build/bin/bench_densenet          reports images/s ("items_per_second")
//   bench/compare_densenet.py         the same next to torchvision's densenet121, with ratios
#include <benchmark/benchmark.h>

#include "autograd/grad_mode.h"
#include "models/densenet.h"

using namespace rg;

namespace {

void BM_DenseNet121Forward(benchmark::State& state) {
  const int64_t size = state.range(0), batch = state.range(1);
  Generator gen(0);
  DenseNet model(DenseNetConfig::densenet121(14), gen);
  model.eval();
  const Tensor x = randn({batch, 3, size, size}, 0, 1, DType::Float32, Device::cpu(), gen);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(x));
  state.SetItemsProcessed(state.iterations() * batch);
}

}  // namespace

BENCHMARK(BM_DenseNet121Forward)
    ->ArgNames({"size", "batch"})
    ->Args({224, 1})
    ->Args({224, 8})
    ->Args({320, 1})
    ->Args({320, 8})
    ->MinTime(3.0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// main: bench/bench_main.cpp
