// The CPU reference kernels: one plain loop per op, written to be obviously right rather than
// fast. Every element is found by unravelling its index into coordinates and multiplying by the
// strides. The fast CPU kernels and the CUDA kernels are tested against these.
// Contracts are those of rg::Backend (tensor/backend.h).
#pragma once

#include "tensor/backend.h"

namespace rg::cpu::reference {

// The Backend that runs these kernels (tests use it as the ground truth).
const Backend& backend();

}  // namespace rg::cpu::reference
