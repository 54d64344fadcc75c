// How convolutions run on each engine, chosen by the caller (roentgen bench's --conv-algo, --tf32,
// --cudnn-benchmark): the CPU's algorithm and cuDNN's switches. Apart from layers/kernels.h, which
// knows no engine's knobs; read by layers/cpu/conv.cpp and layers/cuda/conv.cpp. conv_settings()
// is defined in layers/dispatch.cpp, the algorithms' names in layers/cpu/conv.cpp.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace rg {

// How the fast CPU kernels compute a convolution: "auto" (per shape and pass, the fastest measured;
// bench/RESULTS.md) or one of the algorithms of layers/cpu/conv_algorithms.h ("im2col", "direct",
// "winograd"), all passing the same parity tests. A forced algorithm that does not apply to a
// shape falls back to auto's choice for it.
std::vector<std::string> cpu_conv_algo_names();  // "auto", then the table's, in order
std::string parse_cpu_conv_algo(
    const std::string& name);  // `name` if listed; an rg::Error naming the choices otherwise

// The settings every convolution reads; cuDNN's are part of its plans' keys (layers/cuda/conv_plan.h).
struct ConvSettings {
  std::string cpu_algo = "auto";
  bool tf32 = false;                         // TF32 tensor cores for float32: faster, about 1e-3 relative error.
                                             // Off by default, so the GPU's results compare exactly with the CPU's.
  bool benchmark = false;                    // time every algorithm once per shape instead of trusting heuristics
  bool deterministic = false;                // only algorithms whose results repeat bit for bit
  size_t workspace_limit = size_t(1) << 30;  // bytes of scratch an algorithm may use
};
ConvSettings& conv_settings();

}  // namespace rg
