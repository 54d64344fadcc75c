// Backend: the kernels one device provides, and the one dispatch that picks them.
//
// Every op in autograd/ops.h does its arithmetic through this interface:
//   backend_for(out.device()).binary(BinaryOp::Add, a, b, out);
// The CPU backend (tensor/cpu/) is always built; the CUDA backend (tensor/cuda/) exists only in
// builds with CUDA, and asking for it elsewhere is an rg::Error. Model code never sees #ifdef.
//
// Contract for all kernels: `out` is allocated by the caller on the backend's device; inputs are
// on the same device and — except in copy() and transfer() — have out's dtype. Elementwise inputs
// already have out's shape (broadcasting is done before, by stride-0 views: expand_untracked), and may
// have any strides. `out` may be a non-contiguous view only where noted.
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace rg {

enum class UnaryOp { Neg, Exp, Log, Sqrt, Relu, Sigmoid, Silu, Pow, Clamp };
enum class BinaryOp { Add, Sub, Mul, Div, Eq, Gt, Ge, Lt, Le };  // comparisons give 1 or 0
enum class ReduceOp { Sum, Max };

const char* op_name(UnaryOp op);
const char* op_name(BinaryOp op);
const char* op_name(ReduceOp op);

// One optimizer step for one parameter, fused into a single pass over its elements (optim/'s SGD
// and Adam call it; the per-element math is rg::math::optimizer_update in tensor/scalar_math.h).
// Why optimizer rules live down here, below optim/: the fused step is a kernel, one read of p, g,
// m, v and one write of p, m, v on the parameter's device, and kernels live in the backends.
// Composed from tensor ops, Adam's step would be about ten passes over every parameter, each
// with a temporary. A new optimizer whose step needs its own fused rule adds a Kind here and its
// math to optimizer_update (docs/extending.md); one composed of existing ops needs neither.
struct UpdateRule {
  enum class Kind { Sgd, Adam };
  Kind kind = Kind::Sgd;
  double lr = 0, weight_decay = 0;
  double momentum = 0;                   // SGD: 0 for none (then m is unused)
  double beta1 = 0, beta2 = 0, eps = 0;  // Adam
  double bias1 = 1, bias2 = 1;           // Adam: 1 - beta^step
};

// A backend is a table of kernels, filled in by tensor/cpu/ and tensor/cuda/ by name (designated
// initializers: .fill = ...); tests check that no entry is null.
struct Backend {
  const char* name;  // "cpu", "cpu-reference", "cuda"

  // out[i] = value. `out` may be any view.
  void (*fill)(Tensor& out, double value);
  // out[i] = src[i], converting dtype. Same shape; `out` may be any view.
  void (*copy)(const Tensor& src, Tensor& out);
  // out[i] = f(x[i]); Pow uses p0 as the exponent, Clamp clamps to [p0, p1].
  void (*unary)(UnaryOp op, const Tensor& x, Tensor& out, double p0, double p1);
  // out[i] = a[i] (op) b[i].
  void (*binary)(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
  // out[i] = cond[i] != 0 ? a[i] : b[i]   (cond has out's dtype too).
  void (*where)(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out);
  // x: any shape; out: contiguous, x's rank, size 1 on the reduced dims and x's size elsewhere.
  void (*reduce)(ReduceOp op, const Tensor& x, Tensor& out);
  // a: [B, M, K], b: [B, K, N] (any strides) -> out: [B, M, N] contiguous.
  void (*matmul)(const Tensor& a, const Tensor& b, Tensor& out);
  // In place: p, and the optimizer state m (SGD's velocity, Adam's first moment) and v (Adam's
  // second moment), from the gradient g. All contiguous, of one shape and dtype; v is undefined
  // for SGD, m too without momentum.
  void (*update)(const UpdateRule& rule, Tensor& p, const Tensor& g, Tensor& m, Tensor& v);
  // Returns when every kernel queued on the device has finished (to time a phase to its end; the
  // CPU's kernels have finished when they return).
  void (*synchronize)();
};

// The backend that runs kernels for `device`.
const Backend& backend_for(Device device);

// Copies contiguous `src` into contiguous `dst` of the same dtype and size when either is on a
// CUDA device (host<->device or device<->device).
void transfer(const Tensor& src, Tensor& dst);

// Whether CUDA kernels can run here. When not, `cuda_unavailable_reason()` says why
// ("roentgen was built without CUDA", "no CUDA device: <driver message>", ...).
bool cuda_is_available();
std::string cuda_unavailable_reason();
int cuda_device_count();
// CUDA's and cuDNN's versions and the GPUs, or why there are none (for `roentgen info`).
std::string cuda_description();
// Throws an rg::Error saying why when kernels cannot run on `device` (a CPU-only build, no driver,
// no such GPU); returns quietly otherwise. Commands call it before any work.
void check_device(Device device);

}  // namespace rg
