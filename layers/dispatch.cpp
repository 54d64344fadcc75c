// The one place in layers/ that knows whether CUDA was built: everything else asks
// layer_kernels_for(device).
#include "layers/conv_settings.h"
#include "layers/kernels.h"
#include "tensor/backend.h"

#if ROENTGEN_WITH_CUDA
#include "layers/cuda/cudnn_kernels.h"
#endif

namespace rg {

const char* cpu_conv_algo_name(CpuConvAlgo algo) {
  static const char* names[] = {"auto", "im2col", "direct", "winograd"};
  return names[static_cast<int>(algo)];
}

CpuConvAlgo parse_cpu_conv_algo(const std::string& name) {
  for (CpuConvAlgo a : {CpuConvAlgo::Auto, CpuConvAlgo::Im2col, CpuConvAlgo::Direct, CpuConvAlgo::Winograd})
    if (name == cpu_conv_algo_name(a)) return a;
  throw Error("unknown convolution algorithm '" + name + "' (expected auto, im2col, direct or winograd)");
}

ConvSettings& conv_settings() {
  static ConvSettings settings;
  return settings;
}

const LayerKernels& layer_kernels_for(Device device) {
  if (device.is_cpu()) return cpu::layer_kernels();
  check_device(device);  // an rg::Error saying why when there is no such GPU or no CUDA build
#if ROENTGEN_WITH_CUDA
  return cuda::layer_kernels();
#else
  throw Error("layer_kernels_for: no CUDA kernels in a build without CUDA");
#endif
}

}  // namespace rg
