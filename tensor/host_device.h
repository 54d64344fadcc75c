// RG_HOST_DEVICE: a function for the CPU and the GPU alike (nvcc compiles it for both), always
// inlined into its caller: tensor/cpu/vector_kernels.cpp is compiled once per instruction-set
// level, and an out-of-line copy built for AVX-512 could stand in for the baseline's at link time.
#pragma once

#define RG_ALWAYS_INLINE __attribute__((always_inline))
#if defined(__CUDACC__)
#define RG_HOST_DEVICE __host__ __device__ RG_ALWAYS_INLINE
#else
#define RG_HOST_DEVICE RG_ALWAYS_INLINE
#endif
