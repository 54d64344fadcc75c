// The CUDA kernels of tensor/, one function per Backend method (same contracts, see
// tensor/backend.h). Elementwise and reduction kernels are in .cu files; matmul calls cuBLAS.
#pragma once

#include "tensor/backend.h"

namespace rg::cuda {

void fill(Tensor& out, double value);
void copy(const Tensor& src, Tensor& out);
void unary(UnaryOp op, const Tensor& x, Tensor& out, double p0, double p1);
void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out);
void reduce(ReduceOp op, const Tensor& x, Tensor& out);
void matmul(const Tensor& a, const Tensor& b, Tensor& out);
void update(const UpdateRule& rule, Tensor& p, const Tensor& g, Tensor& m, Tensor& v);

}  // namespace rg::cuda
