#include "layers/cuda/cuda_layer_kernels.h"
#include "layers/cuda/cudnn_kernels.h"

namespace rg::cuda {

const LayerKernels& layer_kernels() {
  static const LayerKernels table{.name = "cudnn",
                                  .conv_forward = conv_forward,
                                  .conv_backward_data = conv_backward_data,
                                  .conv_backward_filter = conv_backward_filter,
                                  .batch_norm_stats = batch_norm_stats,
                                  .batch_norm_elemt = batch_norm_elemt,
                                  .batch_norm_backward_reduce = batch_norm_backward_reduce,
                                  .batch_norm_backward_elemt = batch_norm_backward_elemt,
                                  .max_pool_forward = max_pool_forward,
                                  .max_pool_backward = max_pool_backward,
                                  .avg_pool_forward = avg_pool_forward,
                                  .avg_pool_backward = avg_pool_backward,
                                  .channel_scale_forward = channel_scale_forward,
                                  .channel_scale_backward = channel_scale_backward};
  return table;
}

}  // namespace rg::cuda
