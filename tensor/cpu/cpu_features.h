// What the CPU this process runs on can do: its identity (for `roentgen info` and for choosing
// OpenBLAS's kernels) and the instruction sets that our kernels and OpenBLAS's are built for.
// Read once with cpuid on x86; on other machines every feature is false and the vendor is empty.
#pragma once

#include <string>

namespace rg::cpu {

struct CpuFeatures {
  std::string vendor;         // cpuid's vendor string: "GenuineIntel", "AuthenticAMD", ...
  std::string model_name;     // the brand string: "Intel(R) Xeon(R) Platinum 8581C CPU @ 2.10GHz"
  int family = 0, model = 0;  // display family and model (base plus extended, as Intel and AMD define them)
  // Each true only when the CPU has it and the operating system saves its registers.
  bool avx = false, avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false, avx512_bf16 = false;
  bool amx_tile = false;

  // AVX-512 F, BW, DQ and VL: what Skylake-X and every later AVX-512 CPU has.
  bool avx512_core() const { return avx512f && avx512bw && avx512dq && avx512vl; }
  // The flags that matter here, space-separated ("avx2 fma avx512f ...").
  std::string flags() const;
};

// The CPU this process runs on.
const CpuFeatures& host_cpu();

}  // namespace rg::cpu
