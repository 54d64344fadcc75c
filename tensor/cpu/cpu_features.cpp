// cpuid, read once. The one file that asks the x86 CPU directly; elsewhere the answer is a
// CpuFeatures (tensor/cpu/cpu_features.h).
#include "tensor/cpu/cpu_features.h"

#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace rg::cpu {

std::string CpuFeatures::flags() const {
  std::string out;
  const std::pair<bool, const char*> all[] = {
      {avx, "avx"},           {avx2, "avx2"},         {fma, "fma"},           {avx512f, "avx512f"},
      {avx512bw, "avx512bw"}, {avx512dq, "avx512dq"}, {avx512vl, "avx512vl"}, {avx512_bf16, "avx512_bf16"},
      {amx_tile, "amx_tile"}};
  for (const auto& [has, name] : all) {
    if (!has) continue;
    if (!out.empty()) out += ' ';
    out += name;
  }
  return out.empty() ? "(none of avx, avx2, fma, avx512)" : out;
}

namespace {

#if defined(__x86_64__) || defined(__i386__)

struct Regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(unsigned leaf, unsigned subleaf = 0) {
  Regs r;
  if (!__get_cpuid_count(leaf, subleaf, &r.a, &r.b, &r.c, &r.d)) return {};
  return r;
}

bool bit(unsigned value, int n) { return (value >> n) & 1u; }

// Which register states the operating system saves on a context switch (XCR0).
unsigned long long xcr0() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  const Regs vendor = cpuid(0);
  char name[13] = {};
  std::memcpy(name, &vendor.b, 4);
  std::memcpy(name + 4, &vendor.d, 4);
  std::memcpy(name + 8, &vendor.c, 4);
  f.vendor = name;

  const Regs id = cpuid(1);
  const int base_family = (id.a >> 8) & 0xf, base_model = (id.a >> 4) & 0xf;
  f.family = base_family == 0xf ? base_family + int((id.a >> 20) & 0xff) : base_family;
  f.model = (base_family == 0x6 || base_family == 0xf) ? base_model + int(((id.a >> 16) & 0xf) << 4) : base_model;

  if (cpuid(0x80000000).a >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      const Regs r = cpuid(0x80000002 + i);
      std::memcpy(brand + 16 * i, &r, 16);
    }
    f.model_name = brand;
    const size_t first = f.model_name.find_first_not_of(' '), last = f.model_name.find_last_not_of(' ');
    f.model_name = first == std::string::npos ? "" : f.model_name.substr(first, last - first + 1);
  }

  const bool osxsave = bit(id.c, 27);
  const unsigned long long xcr = osxsave ? xcr0() : 0;
  const bool os_ymm = (xcr & 0x6) == 0x6;              // SSE and AVX state
  const bool os_zmm = os_ymm && (xcr & 0xe0) == 0xe0;  // opmask, ZMM0-15 upper halves, ZMM16-31
  const Regs ext = cpuid(0).a >= 7 ? cpuid(7) : Regs{};
  const Regs ext1 = cpuid(0).a >= 7 ? cpuid(7, 1) : Regs{};
  f.avx = os_ymm && bit(id.c, 28);
  f.fma = os_ymm && bit(id.c, 12);
  f.avx2 = os_ymm && bit(ext.b, 5);
  f.avx512f = os_zmm && bit(ext.b, 16);
  f.avx512dq = os_zmm && bit(ext.b, 17);
  f.avx512bw = os_zmm && bit(ext.b, 30);
  f.avx512vl = os_zmm && bit(ext.b, 31);
  f.avx512_bf16 = os_zmm && bit(ext1.a, 5);
  f.amx_tile = bit(ext.d, 24);
  return f;
}

#else  // not x86: no cpuid, and none of the x86 features

CpuFeatures detect() { return {}; }

#endif

}  // namespace

const CpuFeatures& host_cpu() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace rg::cpu
