// Which of OpenBLAS's kernels run our GEMMs, and the correction roentgen makes when OpenBLAS
// does not know the CPU.
//
// Debian's OpenBLAS is built with DYNAMIC_ARCH: at load time it reads cpuid and picks one of its
// kernel sets ("cores"). A CPU newer than the library is not in its tables and gets a generic
// core: on an Intel Xeon with AVX-512 (family 6, model 207) OpenBLAS 0.3.21 picks Prescott, its
// SSE3 kernels, and a 1024^3 sgemm runs at 65 GFLOP/s on two threads instead of 253 (measured
// there by issue 17; not remeasured here).
// OpenBLAS takes the environment variable OPENBLAS_CORETYPE instead of its own choice, but reads
// it in a constructor that runs when the library is loaded, before main. So correct_blas_core(),
// called by a program first thing in its main, asks OpenBLAS which core it chose; when that core is
// a generic one although the CPU has AVX2 or AVX-512, it prints one line, sets OPENBLAS_CORETYPE
// and runs the program again (exec of /proc/self/exe with the same arguments, before anything else
// has happened). Why not load OpenBLAS with dlopen after setting the variable: the core OpenBLAS
// would choose is known only once it is loaded, and a loaded OpenBLAS cannot be loaded afresh.
// A OPENBLAS_CORETYPE the user set is left alone.
// Only programs that ask are ever run again: roentgen, the examples and the benchmarks call it
// (a new program that runs GEMMs should too: docs/extending.md, "A new program"); the test
// programs, fuzzers and anything else linking rg_tensor do not, and run with OpenBLAS's own choice.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tensor/cpu/cpu_features.h"

namespace rg::cpu {

// The OPENBLAS_CORETYPE that fits `cpu` when `reported` (openblas_get_corename()) is a core
// without AVX2 although the CPU has it: COOPERLAKE (AVX-512 with BF16), SKYLAKEX (AVX-512 F, BW,
// DQ, VL), ZEN (AMD family 17h and later with AVX2), HASWELL (AVX2 and FMA). Nothing when
// OpenBLAS's own choice uses AVX2 or better, or the CPU has neither AVX2 nor AVX-512.
std::optional<std::string> blas_core_correction(const CpuFeatures& cpu, std::string_view reported);

// Call first thing in main, before any thread, MPI or GEMM starts: may replace the process by a
// run of the same program with OPENBLAS_CORETYPE set (above). Returns when nothing needs
// correcting, or when the exec failed (then OpenBLAS keeps its choice).
void correct_blas_core();

// Whether `core` (a name OpenBLAS reports) is one of OpenBLAS's cores that use AVX2 or AVX-512.
bool blas_core_uses_avx2(std::string_view core);

struct BlasInfo {
  std::string config;          // openblas_get_config(): "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..."
  std::string core;            // openblas_get_corename(): the kernels in use ("Haswell", "SkylakeX", ...)
  std::string coretype;        // OPENBLAS_CORETYPE, as the user or roentgen set it; else empty
  std::string corrected_from;  // the core OpenBLAS chose itself, when roentgen set OPENBLAS_CORETYPE; else empty
};
BlasInfo blas_info();

// OpenBLAS single-threaded (each GEMM block runs on one thread of our pool); once, before any GEMM.
void prepare_blas();

}  // namespace rg::cpu
