// Elementwise ops: forward through the backend, backward written beside it.
#include "autograd/ops_common.h"
#include "tensor/factory.h"

namespace rg {

using namespace detail;

namespace {

// The value of out = a (op) b with broadcasting, not recorded (the ops below record it).
Tensor binary_value(BinaryOp op, const Tensor& a, const Tensor& b) {
  check_same_kind(a, b, op_name(op));
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op_name(op));
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  backend_for(out.device()).binary(op, expand_untracked(a, shape), expand_untracked(b, shape), out);
  return out;
}

// The value of out = f(x), not recorded.
Tensor unary_value(UnaryOp op, const Tensor& x, double p0 = 0, double p1 = 0) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  backend_for(out.device()).unary(op, x, out, p0, p1);
  return out;
}

}  // namespace

Tensor scalar_like(const Tensor& x, double value) { return scalar(value, x.dtype(), x.device()); }

// d(a+b) = da + db; broadcasting in the forward becomes summation in the backward.
Tensor add(const Tensor& a, const Tensor& b) {
  return record("add", binary_value(BinaryOp::Add, a, b), {a, b},
                [sa = a.shape(), sb = b.shape()](const Tensor& gy) -> Grads {
                  return {sum_to(gy, sa), sum_to(gy, sb)};
                });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  return record("sub", binary_value(BinaryOp::Sub, a, b), {a, b},
                [sa = a.shape(), sb = b.shape()](const Tensor& gy) -> Grads {
                  return {sum_to(gy, sa), sum_to(neg(gy), sb)};
                });
}

// d(a*b) = b da + a db
Tensor mul(const Tensor& a, const Tensor& b) {
  return record("mul", binary_value(BinaryOp::Mul, a, b), {a, b},
                [a = a.detach(), b = b.detach()](const Tensor& gy) -> Grads {
                  return {sum_to(gy * b, a.shape()), sum_to(gy * a, b.shape())};
                });
}

// d(a/b) = da / b - a db / b^2
Tensor div(const Tensor& a, const Tensor& b) {
  return record("div", binary_value(BinaryOp::Div, a, b), {a, b},
                [a = a.detach(), b = b.detach()](const Tensor& gy) -> Grads {
                  return {sum_to(gy / b, a.shape()), sum_to(neg(gy * a / (b * b)), b.shape())};
                });
}

Tensor neg(const Tensor& x) {
  return record("neg", unary_value(UnaryOp::Neg, x), {x}, [](const Tensor& gy) -> Grads { return {neg(gy)}; });
}

// d(e^x) = e^x dx: the backward reuses the output.
Tensor exp(const Tensor& x) {
  Tensor y = unary_value(UnaryOp::Exp, x);
  return record("exp", y, {x}, [y = y.detach()](const Tensor& gy) -> Grads { return {gy * y}; });
}

Tensor log(const Tensor& x) {
  return record("log", unary_value(UnaryOp::Log, x), {x},
                [x = x.detach()](const Tensor& gy) -> Grads { return {gy / x}; });
}

// d(sqrt x) = dx / (2 sqrt x)
Tensor sqrt(const Tensor& x) {
  Tensor y = unary_value(UnaryOp::Sqrt, x);
  return record("sqrt", y, {x}, [y = y.detach()](const Tensor& gy) -> Grads { return {gy / (2.0 * y)}; });
}

// d(x^p) = p x^(p-1) dx
Tensor pow(const Tensor& x, double p) {
  return record("pow", unary_value(UnaryOp::Pow, x, p), {x},
                [x = x.detach(), p](const Tensor& gy) -> Grads { return {gy * (p * pow(x, p - 1))}; });
}

// The gradient passes where low <= x <= high, and is 0 where x was clamped.
Tensor clamp(const Tensor& x, double low, double high) {
  RG_CHECK(low <= high, "clamp: low (", low, ") must not exceed high (", high, ")");
  return record("clamp", unary_value(UnaryOp::Clamp, x, low, high), {x},
                [x = x.detach(), low, high](const Tensor& gy) -> Grads {
                  Tensor inside = ge(x, scalar_like(x, low)) * le(x, scalar_like(x, high));
                  return {gy * inside};
                });
}

Tensor relu(const Tensor& x) {
  return record("relu", unary_value(UnaryOp::Relu, x), {x},
                [x = x.detach()](const Tensor& gy) -> Grads { return {gy * gt(x, scalar_like(x, 0))}; });
}

// d(sigmoid x) = y (1 - y) dx with y = sigmoid(x)
Tensor sigmoid(const Tensor& x) {
  Tensor y = unary_value(UnaryOp::Sigmoid, x);
  return record("sigmoid", y, {x}, [y = y.detach()](const Tensor& gy) -> Grads { return {gy * y * (1.0 - y)}; });
}

// silu(x) = x sigmoid(x) (also called swish);  d silu = (s + x s (1 - s)) dx with s = sigmoid(x)
Tensor silu(const Tensor& x) {
  return record("silu", unary_value(UnaryOp::Silu, x), {x}, [x = x.detach()](const Tensor& gy) -> Grads {
    const Tensor s = sigmoid(x);
    return {gy * (s + x * s * (1.0 - s))};
  });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_same_kind(a, b, "where");
  check_same_kind(a, cond, "where", "the condition");
  const Shape shape = broadcast_shapes(cond.shape(), broadcast_shapes(a.shape(), b.shape(), "where"), "where");
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  backend_for(out.device())
      .where(expand_untracked(cond, shape), expand_untracked(a, shape), expand_untracked(b, shape), out);
  return record("where", out, {cond, a, b},
                [c = cond.detach(), sa = a.shape(), sb = b.shape()](const Tensor& gy) -> Grads {
                  Tensor zero = scalar_like(gy, 0);
                  return {Tensor(), sum_to(where(c, gy, zero), sa), sum_to(where(c, zero, gy), sb)};
                });
}

Tensor eq(const Tensor& a, const Tensor& b) { return binary_value(BinaryOp::Eq, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_value(BinaryOp::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_value(BinaryOp::Ge, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_value(BinaryOp::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_value(BinaryOp::Le, a, b); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(a, b)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_like(a, b)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(a, b)); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(a, b)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_like(b, a), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(b, a), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(b, a), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(b, a), b); }

}  // namespace rg
