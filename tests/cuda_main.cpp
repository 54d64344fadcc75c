// main() of the GPU suite (cuda_tests): without a usable GPU — no CUDA build, no driver, no
// device — it prints why and exits with 77, which CTest reports as "skipped" (SKIP_RETURN_CODE).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>

#include "tensor/backend.h"

int main(int argc, char** argv) {
  if (!rg::cuda_is_available()) {
    std::cout << "cuda_tests skipped: " << rg::cuda_unavailable_reason() << "\n";
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
