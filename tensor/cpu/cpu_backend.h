// The fast CPU kernels (parallel_for, vectorizable inner loops, OpenBLAS GEMM).
// Tested against tensor/cpu/reference.h on random inputs of every layout.
#pragma once

#include "tensor/backend.h"

namespace rg::cpu {

const Backend& backend();

}  // namespace rg::cpu
