// Every CUDA, cuBLAS (and later cuDNN) call goes through a check that turns a failure into an
// rg::Error naming the call: "cudaMalloc(&ptr, bytes) failed: out of memory".
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "tensor/error.h"

#define RG_CUDA_CHECK(call)                                                                  \
  do {                                                                                       \
    const cudaError_t rg_status_ = (call);                                                   \
    RG_CHECK(rg_status_ == cudaSuccess, #call, " failed: ", cudaGetErrorString(rg_status_)); \
  } while (0)

#define RG_CUBLAS_CHECK(call)                                                                             \
  do {                                                                                                    \
    const cublasStatus_t rg_status_ = (call);                                                             \
    RG_CHECK(rg_status_ == CUBLAS_STATUS_SUCCESS, #call, " failed: ", cublasGetStatusString(rg_status_)); \
  } while (0)

// After a kernel launch: reports a bad launch configuration at once, naming the kernel. With
// ROENTGEN_CUDA_SYNC=1 in the environment it also waits for the kernel to finish, so that a fault
// inside it is reported here, at the kernel that caused it, instead of at some later call.
#define RG_CUDA_CHECK_LAUNCH(kernel_name) ::rg::cuda::check_launch(#kernel_name)

namespace rg::cuda {

void check_launch(const char* kernel);  // tensor/cuda/cuda_backend.cpp

// Makes GPU `index` current for this scope: kernels launch on the current device, so every
// kernel entry point opens one of these for its output's device.
class DeviceGuard {
 public:
  explicit DeviceGuard(int index) : index_(index) {
    RG_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != index_) RG_CUDA_CHECK(cudaSetDevice(index_));
  }
  ~DeviceGuard() {
    if (previous_ != index_) cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int index_;
  int previous_ = 0;
};

}  // namespace rg::cuda
