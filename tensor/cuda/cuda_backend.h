// Entry points of the CUDA half of tensor/. Plain C++ (no CUDA headers), so tensor/dispatch.cpp
// can include it; it exists only in builds with CUDA (ROENTGEN_WITH_CUDA).
#pragma once

#include <memory>
#include <string>

#include "tensor/backend.h"
#include "tensor/upload.h"

namespace rg::cuda {

const Backend& backend();
Allocator& allocator(int device);
void transfer(const Tensor& src, Tensor& dst);
std::unique_ptr<Uploader> make_uploader(int device);  // tensor/cuda/upload.cpp

// Number of usable GPUs; 0 with `why` filled in when there are none (no driver, no device).
int device_count(std::string* why);

// The CUDA runtime's and driver's versions, cuDNN's, and each GPU (for `roentgen info`).
std::string describe();

}  // namespace rg::cuda
