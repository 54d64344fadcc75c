// The instruction-set level our fast CPU kernels run at, picked once per process.
//
// The hot inner loops (tensor/cpu/vector_kernels.h) are compiled three times, for baseline x86-64
// (SSE2), for AVX2 and for AVX-512 (F, BW, DQ, VL); at run time the best level the CPU supports is
// used, or the one ROENTGEN_ISA=baseline|avx2|avx512 names (a level the CPU lacks is an error).
// On a machine that is not x86 only the baseline is built. Every level gives bit-identical
// results: the kernels keep their order of operations at every width, and none of them fuses a
// multiply and an add (-ffp-contract=off), so a run's results do not depend on the level.
#pragma once

#include <string_view>
#include <vector>

#include "tensor/cpu/cpu_features.h"

namespace rg::cpu {

// The levels, lowest first (tensor/cpu/isa_levels.def): Baseline, Avx2, Avx512.
enum class Isa {
#define RG_ISA_LEVEL(enumerator, name, x86_only, flags) enumerator,
#include "tensor/cpu/isa_levels.def"
#undef RG_ISA_LEVEL
};

const char* isa_name(Isa isa);  // "baseline", "avx2", "avx512"
// "baseline" | "avx2" | "avx512" (an rg::Error naming the choices otherwise).
Isa parse_isa(std::string_view name);

bool isa_built(Isa isa);                                 // compiled into this build (x86: all three)
bool cpu_supports(const CpuFeatures& cpu, Isa isa);      // the CPU and its operating system can run it
Isa best_isa(const CpuFeatures& cpu);                    // the highest level built and supported
std::vector<Isa> runnable_isas(const CpuFeatures& cpu);  // every level built and `cpu` supports, lowest first
std::vector<Isa> runnable_isas();                        // ... on this machine's CPU

// The level in use: ROENTGEN_ISA when set (an rg::Error when the CPU or the build lacks it),
// else best_isa(host_cpu()).
Isa active_isa();
// Switches the level (for tests and benchmarks); an rg::Error when it cannot run here.
void set_active_isa(Isa isa);

}  // namespace rg::cpu
