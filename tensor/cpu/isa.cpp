// The one place that knows which instruction-set levels were built (ROENTGEN_ISA_X86, set by
// tensor/CMakeLists.txt on x86) and picks the table of vector kernels for the process.
#include "tensor/cpu/isa.h"

#include <atomic>
#include <cstdlib>
#include <string>

#include "tensor/cpu/vector_kernels.h"
#include "tensor/error.h"

namespace rg::cpu {

namespace {

void check_built(Isa isa, const char* why) {
  RG_CHECK(isa_built(isa), why, "the ", isa_name(isa), " kernels are not built on this machine (only x86 builds have avx2 and avx512)");
}

void check_runnable(Isa isa, const char* why) {
  check_built(isa, why);
  RG_CHECK(cpu_supports(host_cpu(), isa), why, "this CPU cannot run the ", isa_name(isa), " kernels (",
           host_cpu().model_name.empty() ? "an unknown CPU" : host_cpu().model_name, " has ", host_cpu().flags(),
           "); it can run: ", isa_name(best_isa(host_cpu())), " and below");
}

Isa initial_isa() {
  const char* forced = std::getenv("ROENTGEN_ISA");
  if (!forced || !*forced) return best_isa(host_cpu());
  Isa isa;
  try {
    isa = parse_isa(forced);
  } catch (const Error& e) {
    throw Error(std::string("ROENTGEN_ISA: ") + e.what());
  }
  check_runnable(isa, "ROENTGEN_ISA: ");
  return isa;
}

std::atomic<const VectorKernels*>& active_table() {
  static std::atomic<const VectorKernels*> table{&vector_kernels_at(initial_isa())};
  return table;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Baseline: return "baseline";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

Isa parse_isa(std::string_view name) {
  for (Isa isa : {Isa::Baseline, Isa::Avx2, Isa::Avx512})
    if (name == isa_name(isa)) return isa;
  throw Error(detail::concat("unknown instruction-set level '", name, "' (expected baseline, avx2 or avx512)"));
}

bool isa_built(Isa isa) { return isa == Isa::Baseline || ROENTGEN_ISA_X86; }

bool cpu_supports(const CpuFeatures& cpu, Isa isa) {
  switch (isa) {
    case Isa::Baseline: return true;
    case Isa::Avx2: return cpu.avx2 && cpu.fma;
    case Isa::Avx512: return cpu.avx512_core() && cpu.avx2 && cpu.fma;
  }
  return false;
}

Isa best_isa(const CpuFeatures& cpu) {
  for (Isa isa : {Isa::Avx512, Isa::Avx2})
    if (isa_built(isa) && cpu_supports(cpu, isa)) return isa;
  return Isa::Baseline;
}

std::vector<Isa> runnable_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::Baseline, Isa::Avx2, Isa::Avx512})
    if (isa_built(isa) && cpu_supports(host_cpu(), isa)) out.push_back(isa);
  return out;
}

Isa active_isa() { return parse_isa(active_table().load()->isa); }

void set_active_isa(Isa isa) {
  check_runnable(isa, "set_active_isa: ");
  active_table().store(&vector_kernels_at(isa));
}

const VectorKernels& vector_kernels_at(Isa isa) {
  check_built(isa, "vector_kernels_at: ");
#if ROENTGEN_ISA_X86
  if (isa == Isa::Avx512) return isa_avx512::table();
  if (isa == Isa::Avx2) return isa_avx2::table();
#endif
  return isa_baseline::table();
}

const VectorKernels& vector_kernels() { return *active_table().load(std::memory_order_relaxed); }

}  // namespace rg::cpu
