// The CPU reference kernels: one plain loop per op, written to be obviously right rather than
// fast. Every element is found by unravelling its index into coordinates and multiplying by the
// strides. The fast CPU kernels and the CUDA kernels are tested against these.
// Signatures and contracts are those of rg::Backend (tensor/backend.h).
#pragma once

#include "tensor/backend.h"

namespace rg::cpu::reference {

void fill(Tensor& out, double value);
void copy(const Tensor& src, Tensor& out);
void unary(UnaryOp op, const Tensor& x, Tensor& out, double p0, double p1);
void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out);
void reduce(ReduceOp op, const Tensor& x, Tensor& out);
void matmul(const Tensor& a, const Tensor& b, Tensor& out);

// The Backend that runs these kernels (tests use it as the ground truth).
const Backend& backend();

}  // namespace rg::cpu::reference
