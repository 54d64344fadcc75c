// The two CPU tables of layer kernels.
#include "layers/cpu/cpu_kernels.h"

namespace rg::cpu {

const LayerKernels& layer_kernels() {
  static const LayerKernels table{.name = "cpu",
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

const LayerKernels& reference_layer_kernels() {
  namespace r = reference;
  static const LayerKernels table{.name = "cpu-reference",
                                  .conv_forward = r::conv_forward,
                                  .conv_backward_data = r::conv_backward_data,
                                  .conv_backward_filter = r::conv_backward_filter,
                                  .batch_norm_stats = r::batch_norm_stats,
                                  .batch_norm_elemt = r::batch_norm_elemt,
                                  .batch_norm_backward_reduce = r::batch_norm_backward_reduce,
                                  .batch_norm_backward_elemt = r::batch_norm_backward_elemt,
                                  .max_pool_forward = r::max_pool_forward,
                                  .max_pool_backward = r::max_pool_backward,
                                  .avg_pool_forward = r::avg_pool_forward,
                                  .avg_pool_backward = r::avg_pool_backward,
                                  .channel_scale_forward = r::channel_scale_forward,
                                  .channel_scale_backward = r::channel_scale_backward};
  return table;
}

}  // namespace rg::cpu
