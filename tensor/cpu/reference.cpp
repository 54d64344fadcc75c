#include "tensor/cpu/reference.h"

#include <limits>

#include "tensor/scalar_math.h"

namespace rg::cpu::reference {
namespace {

// Element offset (from data<T>()) of the element with row-major index `linear` in `t`.
int64_t offset_of(const Tensor& t, int64_t linear) {
  int64_t offset = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    const int64_t coord = linear % t.shape()[d];
    linear /= t.shape()[d];
    offset += coord * t.strides()[d];
  }
  return offset;
}

void fill(Tensor& out, double value) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) o[offset_of(out, i)] = convert<T>(value);
  });
}

void copy(const Tensor& src, Tensor& out) {
  visit_dtype(src.dtype(), [&](auto src_tag) {
    using S = typename decltype(src_tag)::type;
    visit_dtype(out.dtype(), [&](auto out_tag) {
      using T = typename decltype(out_tag)::type;
      const S* s = src.data<S>();
      T* o = out.data<T>();
      for (int64_t i = 0; i < out.numel(); ++i) o[offset_of(out, i)] = convert<T>(s[offset_of(src, i)]);
    });
  });
}

void unary(UnaryOp op, const Tensor& x, Tensor& out, double p0, double p1) {
  visit_floating(out.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    math::with_unary(op, [&](auto op_c) {
      const T* in = x.data<T>();
      T* o = out.data<T>();
      for (int64_t i = 0; i < out.numel(); ++i)
        o[offset_of(out, i)] = math::unary<decltype(op_c)::value, T>(in[offset_of(x, i)], T(p0), T(p1));
    });
  });
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_floating(out.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    math::with_binary(op, [&](auto op_c) {
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      T* o = out.data<T>();
      for (int64_t i = 0; i < out.numel(); ++i)
        o[offset_of(out, i)] = math::binary<decltype(op_c)::value, T>(pa[offset_of(a, i)], pb[offset_of(b, i)]);
    });
  });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_floating(out.dtype(), "where", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* c = cond.data<T>();
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* o = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i)
      o[offset_of(out, i)] = c[offset_of(cond, i)] != T(0) ? pa[offset_of(a, i)] : pb[offset_of(b, i)];
  });
}

void reduce(ReduceOp op, const Tensor& x, Tensor& out) {
  visit_floating(x.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    // Accumulate in double: sums of many float32 values keep their precision.
    const int64_t n_out = out.numel();
    std::vector<double> acc(n_out, op == ReduceOp::Sum ? 0.0 : -std::numeric_limits<double>::infinity());
    std::vector<bool> seen_nan(n_out, false);
    const T* in = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      // The output coordinate is the input coordinate with reduced dims set to 0.
      int64_t rest = i, out_index = 0, out_step = 1;
      for (int64_t d = x.dim() - 1; d >= 0; --d) {
        const int64_t coord = rest % x.shape()[d];
        rest /= x.shape()[d];
        if (out.shape()[d] != 1) out_index += coord * out_step;
        out_step *= out.shape()[d];
      }
      const double v = in[offset_of(x, i)];
      if (op == ReduceOp::Sum)
        acc[out_index] += v;
      else if (v != v)
        seen_nan[out_index] = true;  // max propagates NaN, as PyTorch does
      else if (v > acc[out_index])
        acc[out_index] = v;
    }
    T* o = out.data<T>();
    for (int64_t i = 0; i < n_out; ++i)
      o[i] = seen_nan[i] ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(acc[i]);
  });
}

void matmul(const Tensor& a, const Tensor& b, Tensor& out) {
  visit_floating(out.dtype(), "matmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t batch = a.size(0), m = a.size(1), k = a.size(2), n = b.size(2);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* o = out.data<T>();
    const auto& sa = a.strides();
    const auto& sb = b.strides();
    for (int64_t bi = 0; bi < batch; ++bi)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double acc = 0;  // out[bi, i, j] = sum_p a[bi, i, p] * b[bi, p, j]
          for (int64_t p = 0; p < k; ++p)
            acc += double(pa[bi * sa[0] + i * sa[1] + p * sa[2]]) * double(pb[bi * sb[0] + p * sb[1] + j * sb[2]]);
          o[(bi * m + i) * n + j] = static_cast<T>(acc);
        }
  });
}

// Element by element, in order.
void update(const UpdateRule& rule, Tensor& p, const Tensor& g, Tensor& m, Tensor& v) {
  visit_floating(p.dtype(), "update", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T *pp = p.data<T>(), *pm = m.defined() ? m.data<T>() : nullptr, *pv = v.defined() ? v.data<T>() : nullptr;
    const T* pg = g.data<T>();
    for (int64_t i = 0; i < p.numel(); ++i)
      math::optimizer_update(rule, pp[i], pg[i], pm ? pm + i : nullptr, pv ? pv + i : nullptr);
  });
}

}  // namespace

const Backend& backend() {
  static const Backend table{.name = "cpu-reference",
                             .fill = fill,
                             .copy = copy,
                             .unary = unary,
                             .binary = binary,
                             .where = where,
                             .reduce = reduce,
                             .matmul = matmul,
                             .update = update,
                             .synchronize = [] {}};  // its kernels have finished when they return
  return table;
}

}  // namespace rg::cpu::reference
