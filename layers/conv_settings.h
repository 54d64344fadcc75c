// How convolutions run on each engine, chosen by the caller (roentgen bench's --conv-algo, --tf32,
// --cudnn-benchmark): the CPU's algorithm and cuDNN's switches. Apart from layers/kernels.h, which
// knows no engine's knobs; read by layers/cpu/conv.cpp and layers/cuda/conv.cpp, defined in
// layers/dispatch.cpp.
#pragma once

#include <cstddef>
#include <string>

namespace rg {

// How the fast CPU kernels compute a convolution (layers/cpu/conv_algorithms.h):
//   Im2col    columns of every window position, then one GEMM (any geometry)
//   Direct    stride 1: one GEMM per kernel position over a padded copy of the input, no columns
//   Winograd  3x3, stride 1, no dilation: F(2x2, 3x3), 2.25x fewer multiplies (forward and
//             backward data; the filter gradient then uses Direct)
//   Auto      per shape and pass, the fastest measured (bench/RESULTS.md); all four pass the same
//             parity tests
// A forced algorithm that does not apply to a shape falls back to Auto's choice for it.
enum class CpuConvAlgo { Auto, Im2col, Direct, Winograd };
const char* cpu_conv_algo_name(CpuConvAlgo algo);    // "auto", "im2col", "direct", "winograd"
CpuConvAlgo parse_cpu_conv_algo(const std::string& name);  // an rg::Error naming the choices otherwise

// The settings every convolution reads; cuDNN's are part of its plans' keys (layers/cuda/conv_plan.h).
struct ConvSettings {
  CpuConvAlgo cpu_algo = CpuConvAlgo::Auto;
  bool tf32 = false;           // TF32 tensor cores for float32: faster, about 1e-3 relative error.
                               // Off by default, so the GPU's results compare exactly with the CPU's.
  bool benchmark = false;      // time every algorithm once per shape instead of trusting heuristics
  bool deterministic = false;  // only algorithms whose results repeat bit for bit
  size_t workspace_limit = size_t(1) << 30;  // bytes of scratch an algorithm may use
};
ConvSettings& conv_settings();

}  // namespace rg
