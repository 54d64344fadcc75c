// The one place in layers/ that knows whether CUDA was built: everything else asks
// layer_kernels_for(device).
#include "layers/conv_settings.h"
#include "layers/kernels.h"
#include "tensor/backend.h"

#if ROENTGEN_WITH_CUDA
#include "layers/cuda/cudnn_kernels.h"
#endif

namespace rg {

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
