// The fast CPU kernels against the reference kernels, on random inputs in every layout:
// contiguous, transposed, strided windows with an offset, and stride-0 broadcasts.
#include <doctest/doctest.h>

#include "helpers.h"
#include "tensor/backend.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/reference.h"

using namespace rg;
using namespace rg::test;

namespace {

const Backend& fast = cpu::backend();
const Backend& ref = cpu::reference::backend();

// Shapes that exercise 0-d, 1-d, odd sizes, and sizes above the parallel grain.
const std::vector<Shape> kShapes = {{}, {1}, {7}, {3, 5}, {4, 1, 6}, {2, 3, 4, 5}, {70, 600}};

}  // namespace

TEST_CASE("every entry of both CPU backends' tables is set") {
  CHECK(null_entries(fast).empty());
  CHECK(null_entries(ref).empty());
  CHECK(null_entries(Backend{}).size() == sizeof(Backend) / sizeof(void*));  // the check sees every entry
}

TEST_CASE("fill and copy (with dtype conversion) match the reference in every layout") {
  Generator gen(1);
  for (const Shape& shape : kShapes)
    for (Layout layout : kAllLayouts) {
      if (layout == Layout::Broadcast) continue;  // an output may not alias itself
      CAPTURE(shape_str(shape));
      CAPTURE(layout_name(layout));
      Tensor src = random_tensor(shape, Layout::Transposed, gen, DType::Float64);
      for (DType to : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8}) {
        Tensor a = random_tensor(shape, layout, gen, to == DType::Float64 ? DType::Float64 : DType::Float32);
        a = a.dtype() == to ? a : Tensor::empty(shape, to);
        Tensor b = Tensor::empty(shape, to);
        Tensor clamped = Tensor::empty(shape, DType::Float64);
        ref.unary(UnaryOp::Clamp, src, clamped, 0.0, 2.0);  // non-negative for uint8
        fast.copy(clamped, a);
        ref.copy(clamped, b);
        check_close(a, b, 0, 0, "copy to " + std::string(dtype_name(to)));
      }
      Tensor f = random_tensor(shape, layout, gen);
      Tensor g = Tensor::empty(shape);
      fast.fill(f, 3.25);
      ref.fill(g, 3.25);
      check_close(f, g, 0, 0, "fill");
    }
}

TEST_CASE("a float converted to an integer dtype is truncated and saturates, NaN giving 0, on both CPU kernels") {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  const std::vector<double> in{-300, -1.5, -0.5, 0.7, 254.9, 255.5, 1e10, 1e30, nan, inf, -inf};
  const std::vector<double> as_uint8{0, 0, 0, 0, 254, 255, 255, 255, 0, 255, 0};
  const std::vector<double> as_int64{-300, -1, 0, 0, 254, 255, 1e10, 0x1p63 - 1, 0, 0x1p63 - 1, -0x1p63};
  for (DType from : {DType::Float32, DType::Float64})
    for (const Backend* backend : {&fast, &ref}) {
      CAPTURE(backend->name);
      CAPTURE(from);
      const Tensor x = from_vector(in, {int64_t(in.size())}, from);
      Tensor u = Tensor::empty(x.shape(), DType::UInt8), i = Tensor::empty(x.shape(), DType::Int64);
      backend->copy(x, u);
      backend->copy(x, i);
      CHECK(u.to_vector<double>() == as_uint8);
      const std::vector<int64_t> got = i.to_vector<int64_t>();
      CHECK(got[7] == INT64_MAX);
      CHECK(got[10] == INT64_MIN);
      CHECK(i.to_vector<double>() == as_int64);
      backend->fill(u, -7.5);
      CHECK(u.to_vector<double>()[0] == 0);
    }
  CHECK(from_vector({-3.0, 300.0, nan}, {3}).to_vector<uint8_t>() ==
        std::vector<uint8_t>{0, 255, 0});  // to the host too
}

TEST_CASE("unary kernels match the reference in every layout and dtype") {
  Generator gen(2);
  const UnaryOp ops[] = {UnaryOp::Neg,     UnaryOp::Exp,  UnaryOp::Log, UnaryOp::Sqrt, UnaryOp::Relu,
                         UnaryOp::Sigmoid, UnaryOp::Silu, UnaryOp::Pow, UnaryOp::Clamp};
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const Shape& shape : kShapes)
      for (Layout layout : kAllLayouts)
        for (UnaryOp op : ops) {
          CAPTURE(shape_str(shape));
          CAPTURE(layout_name(layout));
          CAPTURE(op_name(op));
          const bool positive = op == UnaryOp::Log || op == UnaryOp::Sqrt || op == UnaryOp::Pow;
          Tensor x = random_tensor(shape, layout, gen, dtype, positive ? 0.1 : -30.0, positive ? 4.0 : 30.0);
          Tensor a = Tensor::empty(shape, dtype), b = Tensor::empty(shape, dtype);
          fast.unary(op, x, a, op == UnaryOp::Pow ? 1.7 : -0.5, 0.5);
          ref.unary(op, x, b, op == UnaryOp::Pow ? 1.7 : -0.5, 0.5);
          check_close(a, b, 0, 0);
        }
}

TEST_CASE("binary and where kernels match the reference, including broadcast operands") {
  Generator gen(3);
  const BinaryOp ops[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Eq,
                          BinaryOp::Gt,  BinaryOp::Ge,  BinaryOp::Lt,  BinaryOp::Le};
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const Shape& shape : kShapes)
      for (Layout la : kAllLayouts)
        for (Layout lb : kAllLayouts) {
          CAPTURE(shape_str(shape));
          CAPTURE(layout_name(la));
          CAPTURE(layout_name(lb));
          Tensor a = random_tensor(shape, la, gen, dtype);
          Tensor b = random_tensor(shape, lb, gen, dtype, 0.5, 2.0);
          for (BinaryOp op : ops) {
            CAPTURE(op_name(op));
            Tensor x = Tensor::empty(shape, dtype), y = Tensor::empty(shape, dtype);
            fast.binary(op, a, b, x);
            ref.binary(op, a, b, y);
            check_close(x, y, 0, 0);
          }
          Tensor cond = Tensor::empty(shape, dtype);
          ref.binary(BinaryOp::Gt, a, expand_untracked(scalar(0.0, dtype), shape), cond);
          Tensor x = Tensor::empty(shape, dtype), y = Tensor::empty(shape, dtype);
          fast.where(cond, a, b, x);
          ref.where(cond, a, b, y);
          check_close(x, y, 0, 0, "where");
        }
  // A scalar-like operand (stride 0 everywhere) on a long contiguous run: the fast path's
  // special case.
  Tensor a = rand({100000}, -1, 1, DType::Float32, Device::cpu(), gen);
  Tensor s = expand_untracked(scalar(0.25), {100000});
  Tensor x = Tensor::empty({100000}), y = Tensor::empty({100000});
  fast.binary(BinaryOp::Mul, a, s, x);
  ref.binary(BinaryOp::Mul, a, s, y);
  check_close(x, y, 0, 0, "tensor * scalar");
}

TEST_CASE("sum and max over every subset of dims match the reference") {
  Generator gen(4);
  const std::vector<Shape> shapes = {{7}, {3, 5}, {2, 3, 4, 5}, {70, 600}, {3, 40000}, {1, 1}};
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const Shape& shape : shapes)
      for (Layout layout : kAllLayouts)
        for (int mask = 1; mask < (1 << shape.size()); ++mask) {
          Shape out_shape = shape;
          for (size_t d = 0; d < shape.size(); ++d)
            if (mask & (1 << d)) out_shape[d] = 1;
          CAPTURE(shape_str(shape));
          CAPTURE(shape_str(out_shape));
          CAPTURE(layout_name(layout));
          Tensor x = random_tensor(shape, layout, gen, dtype);
          for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max}) {
            CAPTURE(op_name(op));
            Tensor a = Tensor::empty(out_shape, dtype), b = Tensor::empty(out_shape, dtype);
            fast.reduce(op, x, a);
            ref.reduce(op, x, b);
            // Both accumulate in double; only the order of additions differs.
            check_close(a, b, dtype == DType::Float32 ? 1e-5 : 1e-12, 1e-6);
          }
        }
}

TEST_CASE("max propagates NaN like PyTorch, in both kernels") {
  Tensor x = from_vector({1, NAN, 3, 4, 5, 6}, {2, 3});
  for (const Backend* backend : {&fast, &ref}) {
    Tensor out = Tensor::empty({2, 1});
    backend->reduce(ReduceOp::Max, x, out);
    const auto v = out.to_vector<double>();
    CHECK(std::isnan(v[0]));
    CHECK(v[1] == 6);
  }
}

TEST_CASE("OpenBLAS matmul matches the reference for plain, transposed and strided operands") {
  Generator gen(5);
  struct Case {
    int64_t batch, m, k, n;
  };
  const Case cases[] = {{1, 1, 1, 1}, {1, 3, 5, 7}, {2, 17, 33, 9}, {3, 64, 64, 64}, {1, 130, 1, 70}};
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const Case& c : cases)
      for (Layout la : {Layout::Contiguous, Layout::Transposed, Layout::Strided})
        for (Layout lb : {Layout::Contiguous, Layout::Transposed, Layout::Strided}) {
          CAPTURE(c.batch);
          CAPTURE(c.m);
          CAPTURE(c.k);
          CAPTURE(c.n);
          CAPTURE(layout_name(la));
          CAPTURE(layout_name(lb));
          Tensor a = random_tensor({c.batch, c.m, c.k}, la, gen, dtype);
          Tensor b = random_tensor({c.batch, c.k, c.n}, lb, gen, dtype);
          Tensor x = Tensor::empty({c.batch, c.m, c.n}, dtype), y = Tensor::empty({c.batch, c.m, c.n}, dtype);
          fast.matmul(a, b, x);
          ref.matmul(a, b, y);
          check_close(x, y, dtype == DType::Float32 ? 1e-4 : 1e-12, 1e-5);
        }
}
