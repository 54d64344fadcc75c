// The one place that knows which instruction-set levels were built (ROENTGEN_ISA_X86, set by
// tensor/CMakeLists.txt on x86) and picks the table of vector kernels for the process.
#include "tensor/cpu/isa.h"

#include <atomic>
#include <cstdlib>
#include <iterator>
#include <string>

#include "tensor/cpu/vector_kernels.h"
#include "tensor/error.h"

namespace rg::cpu {

namespace {

// A level: its name, what it needs of the CPU, and its table of vector kernels (null where this
// build lacks it). tensor/CMakeLists.txt compiles vector_kernels.cpp once per level with that
// level's flags.
struct IsaLevel {
  Isa isa;
  const char* name;
  bool (*supported)(const CpuFeatures& cpu);
  const VectorKernels& (*table)();
};

// What each level needs of the CPU (and of the operating system, which must save its registers).
bool supports_baseline(const CpuFeatures&) { return true; }
bool supports_avx2(const CpuFeatures& cpu) { return cpu.avx2 && cpu.fma; }
bool supports_avx512(const CpuFeatures& cpu) { return cpu.avx512_core() && supports_avx2(cpu); }

// Each level's table; the x86 levels are built on x86 alone.
using TableFn = const VectorKernels& (*)();
constexpr TableFn table_baseline = isa_baseline::table;
#if ROENTGEN_ISA_X86
constexpr TableFn table_avx2 = isa_avx2::table, table_avx512 = isa_avx512::table;
#else
constexpr TableFn table_avx2 = nullptr, table_avx512 = nullptr;
#endif

// The levels of tensor/cpu/isa_levels.def, lowest first.
constexpr IsaLevel kLevels[] = {
#define RG_ISA_LEVEL(enumerator, name, x86_only, flags) {Isa::enumerator, #name, supports_##name, table_##name},
#include "tensor/cpu/isa_levels.def"
#undef RG_ISA_LEVEL
};

const IsaLevel& level(Isa isa) { return kLevels[int(isa)]; }

void check_built(Isa isa, const char* why) {
  RG_CHECK(isa_built(isa), why, "the ", isa_name(isa),
           " kernels are not built on this machine (only x86 builds have avx2 and avx512)");
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

const char* isa_name(Isa isa) { return level(isa).name; }

Isa parse_isa(std::string_view name) {
  std::string expected;
  for (const IsaLevel& l : kLevels) {
    if (name == l.name) return l.isa;
    expected += std::string(expected.empty() ? "" : &l == &kLevels[std::size(kLevels) - 1] ? " or " : ", ") + l.name;
  }
  throw Error(detail::concat("unknown instruction-set level '", name, "' (expected ", expected, ")"));
}

bool isa_built(Isa isa) { return level(isa).table != nullptr; }

bool cpu_supports(const CpuFeatures& cpu, Isa isa) { return level(isa).supported(cpu); }

Isa best_isa(const CpuFeatures& cpu) {
  const std::vector<Isa> levels = runnable_isas(cpu);
  return levels.back();
}

std::vector<Isa> runnable_isas(const CpuFeatures& cpu) {
  std::vector<Isa> out;
  for (const IsaLevel& l : kLevels)
    if (l.table && l.supported(cpu)) out.push_back(l.isa);
  return out;
}

std::vector<Isa> runnable_isas() { return runnable_isas(host_cpu()); }

Isa active_isa() { return parse_isa(active_table().load()->isa); }

void set_active_isa(Isa isa) {
  check_runnable(isa, "set_active_isa: ");
  active_table().store(&vector_kernels_at(isa));
}

const VectorKernels& vector_kernels_at(Isa isa) {
  check_built(isa, "vector_kernels_at: ");
  return level(isa).table();
}

const VectorKernels& vector_kernels() { return *active_table().load(std::memory_order_relaxed); }

}  // namespace rg::cpu
