// roentgen info: the CPU and the flags that matter, the instruction-set level our kernels use,
// OpenBLAS's version and core, the threads, and CUDA/cuDNN with the GPUs when built.
#include "apps/info.h"

#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tensor/error.h"
#include "tensor/backend.h"
#include "tensor/cpu/blas_core.h"
#include "tensor/cpu/isa.h"
#include "tensor/parallel.h"

namespace rg::app {

namespace {

std::string cpu_name() {
  const cpu::CpuFeatures& c = cpu::host_cpu();
  return c.model_name.empty() ? "unknown CPU" : c.model_name;
}

std::string names(const std::vector<cpu::Isa>& isas) {
  std::string out;
  for (cpu::Isa isa : isas) {
    if (!out.empty()) out += ' ';
    out += cpu::isa_name(isa);
  }
  return out;
}

std::string blas_core_line(const cpu::BlasInfo& b) {
  if (b.coretype.empty()) return b.core + " (OpenBLAS's own choice)";
  if (b.corrected_from.empty()) return b.core + " (OPENBLAS_CORETYPE=" + b.coretype + ", set by the user)";
  if (!cpu::blas_core_uses_avx2(b.core))
    return b.core + " (roentgen set OPENBLAS_CORETYPE=" + b.coretype + ", which this OpenBLAS did not take; it chose " +
           b.corrected_from + " itself)";
  return b.core + " (set by roentgen: OpenBLAS chose " + b.corrected_from +
         ", which does not use this CPU's vector units)";
}

}  // namespace

nlohmann::json machine_json() {
  return {{"cpu", cpu_name()}, {"isa", cpu::isa_name(cpu::active_isa())}, {"blas_core", cpu::blas_info().core}};
}

int info_command(int argc, char** argv, const char* usage) {
  if (argc == 3 && (std::string(argv[2]) == "--help" || std::string(argv[2]) == "-h")) {
    std::cout << usage;
    return 0;
  }
  RG_CHECK(argc == 2, "info: takes no arguments\n", usage);
  const cpu::CpuFeatures& c = cpu::host_cpu();
  const cpu::BlasInfo blas = cpu::blas_info();
  const char* isa = cpu::isa_name(cpu::active_isa());  // an error (a bad ROENTGEN_ISA) before any output
  std::vector<cpu::Isa> built;
  for (cpu::Isa i : {cpu::Isa::Baseline, cpu::Isa::Avx2, cpu::Isa::Avx512})
    if (cpu::isa_built(i)) built.push_back(i);
  std::cout << "cpu:        " << cpu_name() << " (" << (c.vendor.empty() ? "not x86" : c.vendor) << ", family "
            << c.family << ", model " << c.model << "), " << std::thread::hardware_concurrency()
            << " hardware threads\n"
            << "cpu flags:  " << c.flags() << "\n"
            << "kernels:    " << isa << " (built: " << names(built)
            << "; this CPU runs: " << names(cpu::runnable_isas()) << "; ROENTGEN_ISA=baseline|avx2|avx512 forces one)\n"
            << "blas:       " << blas.config << "\n"
            << "blas core:  " << blas_core_line(blas) << "\n"
            << "threads:    " << num_threads() << " (one pool for every CPU kernel, OpenBLAS at one thread per call; "
            << "--threads N or OMP_NUM_THREADS sets it)\n"
            << "cuda:       " << cuda_description() << "\n";
  return 0;
}

}  // namespace rg::app
