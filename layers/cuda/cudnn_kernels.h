// Entry point of the cuDNN half of layers/. Plain C++ (no CUDA headers), so layers/dispatch.cpp
// can include it; it exists only in builds with CUDA.
#pragma once

#include "layers/kernels.h"

namespace rg::cuda {

const LayerKernels& layer_kernels();  // layers/cuda/tables.cpp

}  // namespace rg::cuda
