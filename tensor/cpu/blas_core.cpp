#include "tensor/cpu/blas_core.h"

#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

namespace rg::cpu {

namespace {

// Set (to the core OpenBLAS chose itself) when roentgen set OPENBLAS_CORETYPE and ran the program
// again, so that the second run knows the variable is not the user's.
constexpr const char* kCorrectedFrom = "ROENTGEN_BLAS_CORRECTED_FROM";
// For the end-to-end test only: a core name to use instead of OpenBLAS's report, so that the
// correction can be tested on a machine whose CPU OpenBLAS knows.
constexpr const char* kPretendCore = "ROENTGEN_BLAS_PRETEND_CORE";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// The program's arguments as the kernel holds them (NUL-separated), for running it again.
std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t start = 0; start < all.size();) {
    const size_t end = all.find('\0', start);
    args.push_back(all.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return args;
}

}  // namespace

void correct_blas_core() {
  if (std::getenv("OPENBLAS_CORETYPE")) return;  // the user's choice, or ours in the second run
  const std::string pretend = env(kPretendCore);
  const std::string reported = pretend.empty() ? openblas_get_corename() : pretend;
  const std::optional<std::string> core = blas_core_correction(host_cpu(), reported);
  if (!core) return;
  std::vector<std::string> args = own_arguments();
  if (args.empty()) return;
  std::fprintf(
      stderr, "roentgen: OpenBLAS chose its %s kernels for this %s CPU (%s); running again with OPENBLAS_CORETYPE=%s\n",
      reported.c_str(), host_cpu().vendor.c_str(), host_cpu().flags().c_str(), core->c_str());
  std::fflush(stderr);
  setenv("OPENBLAS_CORETYPE", core->c_str(), 1);
  setenv(kCorrectedFrom, reported.c_str(), 1);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());
  std::perror("roentgen: running again with OPENBLAS_CORETYPE set failed; OpenBLAS keeps its choice");
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv(kCorrectedFrom);
}

bool blas_core_uses_avx2(std::string_view core) {
  const std::string c = lower(core);
  for (const char* known : {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"})
    if (c == known) return true;
  return false;
}

std::optional<std::string> blas_core_correction(const CpuFeatures& cpu, std::string_view reported) {
  if (blas_core_uses_avx2(reported)) return std::nullopt;
  if (cpu.avx512_core()) return cpu.avx512_bf16 ? "COOPERLAKE" : "SKYLAKEX";
  if (!(cpu.avx2 && cpu.fma)) return std::nullopt;
  const bool amd = cpu.vendor == "AuthenticAMD" || cpu.vendor == "HygonGenuine";
  return amd && cpu.family >= 0x17 ? "ZEN" : "HASWELL";
}

BlasInfo blas_info() {
  BlasInfo info;
  info.config = openblas_get_config();
  info.core = openblas_get_corename();
  info.coretype = env("OPENBLAS_CORETYPE");
  if (!info.coretype.empty()) info.corrected_from = env(kCorrectedFrom);
  return info;
}

void prepare_blas() {
  static const bool once = (openblas_set_num_threads(1), true);
  (void)once;
}

}  // namespace rg::cpu
