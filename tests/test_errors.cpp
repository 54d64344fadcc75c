// Bad input is an rg::Error whose message names the op, what was expected and what came.
#include <doctest/doctest.h>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "helpers.h"
#include "tensor/backend.h"

using namespace rg;
using doctest::Contains;

TEST_CASE("shape mismatches name the op and both shapes") {
  Tensor a = zeros({2, 3}), b = zeros({4, 3});
  CHECK_THROWS_WITH_AS(add(a, b), Contains("add: shapes [2, 3] and [4, 3] cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(a * zeros({2}), Contains("mul: shapes [2, 3] and [2]"), Error);
  CHECK_THROWS_WITH_AS(matmul(a, zeros({2, 3})), Contains("matmul: inner sizes differ: [2, 3] x [2, 3] (3 vs 2)"),
                       Error);
  CHECK_THROWS_WITH_AS(matmul(a, zeros({3})), Contains("matmul: expected two 2-D"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 2, 3}), zeros({3, 3, 1})), Contains("matmul: batch sizes differ"), Error);
  CHECK_THROWS_WITH_AS(reshape(a, {4, 2}), Contains("cannot view [2, 3] (6 elements) as [4, 2] (8 elements)"), Error);
  CHECK_THROWS_WITH_AS(view(transpose(a, 0, 1), {6}), Contains("view: input of shape [3, 2]"), Error);
  CHECK_THROWS_WITH_AS(cat({a, zeros({2, 4})}, 0), Contains("cat: tensor 1 has shape [2, 4], expected [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(stack({a, zeros({3, 2})}, 0), Contains("stack: tensor 1 has shape [3, 2], expected [2, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(expand(a, {2, 5}), Contains("expand: shapes [2, 3] and [2, 5]"), Error);
  CHECK_THROWS_WITH_AS(squeeze(a, 0), Contains("squeeze: dim 0 has size 2, expected 1"), Error);
  CHECK_THROWS_WITH_AS(Tensor().shape(), Contains("undefined Tensor"), Error);
}

TEST_CASE("dtype mismatches and unsupported dtypes name the op and the dtypes") {
  Tensor f = zeros({2}), d = zeros({2}, DType::Float64), u = zeros({2}, DType::UInt8);
  CHECK_THROWS_WITH_AS(
      add(f, d), Contains("add: dtype mismatch: float32 vs float64 (the second input; shapes [2] and [2])"), Error);
  CHECK_THROWS_WITH_AS(where(zeros({2}, DType::Float64), f, f),
                       Contains("where: dtype mismatch: float32 vs float64 (the condition;"), Error);
  CHECK_THROWS_WITH_AS(exp(u), Contains("exp: expected a float32 or float64 tensor, got uint8"), Error);
  CHECK_THROWS_WITH_AS(f.data<double>(), Contains("tensor holds float32, asked for float64"), Error);
  CHECK_THROWS_WITH_AS(u.set_requires_grad(true), Contains("only float32/float64 tensors can require grad, got uint8"),
                       Error);
}

TEST_CASE("out-of-range dims and slices say what range was allowed") {
  Tensor a = zeros({2, 3});
  CHECK_THROWS_WITH_AS(slice(a, 1, 1, 5), Contains("slice: range [1, 5) is out of range for dim 1 of size 3"), Error);
  CHECK_THROWS_WITH_AS(slice(a, 0, 2, 1), Contains("slice: range [2, 1)"), Error);
  CHECK_THROWS_WITH_AS(slice(a, 2, 0, 1),
                       Contains("slice: dim 2 is out of range for a tensor of rank 2 (expected -2..1)"), Error);
  CHECK_THROWS_WITH_AS(sum(a, {0, 0}), Contains("sum: dim 0 is listed twice"), Error);
  CHECK_THROWS_WITH_AS(permute(a, {0}), Contains("permute: order has 1 dims, the tensor has 2"), Error);
  CHECK_THROWS_WITH_AS(transpose(a, 0, 3), Contains("transpose: dim 3 is out of range"), Error);
  CHECK_THROWS_WITH_AS(a.item(), Contains("item: expected a tensor with one element, got shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(from_vector({1, 2, 3}, {2, 2}), Contains("from_vector: 3 values cannot fill shape [2, 2]"),
                       Error);
}

TEST_CASE("backward errors: non-scalar without a gradient, nothing to differentiate, wrong gradient") {
  Tensor x = ones({3}).set_requires_grad(true);
  Tensor y = x * 2.0;
  CHECK_THROWS_WITH_AS(backward(y), Contains("a gradient must be given for a non-scalar tensor of shape [3]"), Error);
  CHECK_THROWS_WITH_AS(backward(y, ones({4})),
                       Contains("gradient of shape [4] (float32, cpu) does not match the tensor's [3]"), Error);
  CHECK_THROWS_WITH_AS(backward(sum(ones({3}))), Contains("backward: the tensor does not require grad"), Error);
  CHECK_THROWS_WITH_AS(y.set_requires_grad(false), Contains("only leaf tensors"), Error);
}

TEST_CASE("using CUDA where it is unavailable says why") {
  if (cuda_is_available()) {
    MESSAGE("a GPU is present: the no-GPU error path cannot be exercised here");
    return;
  }
  const std::string why = cuda_unavailable_reason();
  CHECK_FALSE(why.empty());
  const std::string expected = "CUDA device cuda:0 requested, but " + why;
  CHECK_THROWS_WITH_AS(Tensor::empty({2}, DType::Float32, Device::cuda()), Contains(expected.c_str()), Error);
  CHECK_THROWS_WITH_AS(ones({2}).to(Device::cuda(1)), Contains("cuda:1"), Error);
}

TEST_CASE("tensors on different devices are refused by name") {
  // A tensor that claims to live on cuda:0 (no GPU memory behind it: the check comes before any
  // kernel would touch it), so the message can be proved on machines without a GPU.
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(nullptr, 8, Device::cuda(), [](void*) {});
  impl->shape = {2};
  impl->strides = {1};
  const Tensor on_gpu(impl);
  CHECK_THROWS_WITH_AS(add(ones({2}), on_gpu), Contains("add: tensors are on different devices: cpu and cuda:0"),
                       Error);
  CHECK_THROWS_WITH_AS(matmul(ones({2, 2}), reshape(on_gpu, {2, 1})),
                       Contains("matmul: tensors are on different devices"), Error);
  CHECK_THROWS_WITH_AS(cat({ones({2}), on_gpu}, 0), Contains("cat: tensors are on different devices"), Error);
}
