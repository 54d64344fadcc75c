// The CUDA layer kernels (cuDNN's, and our own for max pooling and channel scale), gathered into a
// table by layers/cuda/tables.cpp. Each has the signature and contract of its entry in
// LayerKernels (layers/kernels.h).
#pragma once

#include "layers/kernels.h"

namespace rg::cuda {

void conv_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const WindowGeometry& g);
void conv_backward_data(const Tensor& weight, const Tensor& gy, Tensor& gx, const WindowGeometry& g);
void conv_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, Tensor* gb, const WindowGeometry& g);
void batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool relu, Tensor& y,
                      Tensor& mean, Tensor& invstd, Tensor& unbiased_var);
void batch_norm_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                     double eps, bool relu, Tensor& y);
void batch_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& gy, const Tensor& relu_y,
                         const Tensor& mean, const Tensor& invstd, double eps, Tensor& gx, Tensor* gw,
                         Tensor* gb);
void max_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g);
void max_pool_backward(const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx, const WindowGeometry& g);
void avg_pool_forward(const Tensor& x, Tensor& y, const WindowGeometry& g);
void avg_pool_backward(const Tensor& gy, Tensor& gx, const WindowGeometry& g);
void channel_scale_forward(const Tensor& x, const Tensor& s, Tensor& y);
void channel_scale_backward(const Tensor& x, const Tensor& s, const Tensor& gy, Tensor* gx, Tensor* gs);

// An rg::Error naming `op` and `name` unless t is contiguous: what these kernels assume of gy
// (layers/cuda/cudnn_handle.cpp).
void check_contiguous(const Tensor& t, const char* op, const char* name);

}  // namespace rg::cuda
