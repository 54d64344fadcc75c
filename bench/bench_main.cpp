// The benchmarks' main: Google Benchmark's, after OpenBLAS's core is corrected (tensor/cpu/blas_core.h).
#include <benchmark/benchmark.h>

#include "tensor/cpu/blas_core.h"

int main(int argc, char** argv) {
  rg::cpu::correct_blas_core();  // first: may run the program again
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
