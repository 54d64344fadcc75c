// The main of every doctest suite. Under ROENTGEN_ISA (tensor/cpu/isa.h) the suite runs with the
// fast CPU kernels at that instruction-set level; a level this CPU cannot run skips the suite
// (exit code 77, which CTest shows as skipped) with the reason, and an unknown one is an error.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>

#include "tensor/cpu/isa.h"
#include "tensor/error.h"

int main(int argc, char** argv) {
  if (const char* isa = std::getenv("ROENTGEN_ISA")) {
    try {
      rg::cpu::parse_isa(isa);
    } catch (const rg::Error& e) {  // a misspelt level is a mistake, not a skip
      std::printf("ROENTGEN_ISA: %s\n", e.what());
      return 2;
    }
    try {
      std::printf("vector kernels at %s (ROENTGEN_ISA)\n", rg::cpu::isa_name(rg::cpu::active_isa()));
    } catch (const rg::Error& e) {
      std::printf("skipped: %s\n", e.what());
      return 77;
    }
  }
  return doctest::Context(argc, argv).run();
}
