// The CUDA layer kernels (cuDNN's, and our own for batch norm, max pooling and channel scale),
// gathered into a table by layers/cuda/tables.cpp. Each has the signature and contract of its kernel:: type in
// layers/kernels.h.
#pragma once

#include "layers/kernels.h"

namespace rg::cuda {

kernel::ConvForward conv_forward;
kernel::ConvBackwardData conv_backward_data;
kernel::ConvBackwardFilter conv_backward_filter;
kernel::BatchNormStats batch_norm_stats;
kernel::BatchNormElemt batch_norm_elemt;
kernel::BatchNormBackwardReduce batch_norm_backward_reduce;
kernel::BatchNormBackwardElemt batch_norm_backward_elemt;
kernel::MaxPoolForward max_pool_forward;
kernel::MaxPoolBackward max_pool_backward;
kernel::AvgPoolForward avg_pool_forward;
kernel::AvgPoolBackward avg_pool_backward;
kernel::ChannelScaleForward channel_scale_forward;
kernel::ChannelScaleBackward channel_scale_backward;

// An rg::Error naming `op` and `name` unless t is contiguous: what these kernels assume of gy
// (layers/cuda/cudnn_handle.cpp).
void check_contiguous(const Tensor& t, const char* op, const char* name);

}  // namespace rg::cuda
