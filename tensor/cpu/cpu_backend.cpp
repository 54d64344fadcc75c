#include "tensor/cpu/cpu_backend.h"

#include <limits>
#include <vector>

#include "tensor/cpu/gemm.h"
#include "tensor/cpu/strided_loop.h"
#include "tensor/cpu/vector_kernels.h"
#include "tensor/scalar_math.h"

namespace rg::cpu {
namespace {

// One layout for the operands of an elementwise kernel (all have out's shape).
template <typename... Ts>
Layout<sizeof...(Ts)> layout_of(const Ts&... operands) {
  const Tensor& first = std::get<0>(std::tie(operands...));
  return coalesce<sizeof...(Ts)>(first.shape(), {&operands.strides()...});
}

void fill_kernel(Tensor& out, double value) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = out.data<T>();
    const T v = convert<T>(value);
    const auto layout = layout_of(out);
    const int64_t so = layout.strides[0].back();
    parallel_runs(layout, [&](const std::array<int64_t, 1>& off, int64_t count) {
      for (int64_t j = 0; j < count; ++j) o[off[0] + j * so] = v;
    });
  });
}

void copy_kernel(const Tensor& src, Tensor& out) {
  visit_dtype(src.dtype(), [&](auto src_tag) {
    using S = typename decltype(src_tag)::type;
    visit_dtype(out.dtype(), [&](auto out_tag) {
      using T = typename decltype(out_tag)::type;
      const S* s = src.data<S>();
      T* o = out.data<T>();
      const auto layout = layout_of(out, src);
      const int64_t so = layout.strides[0].back(), ss = layout.strides[1].back();
      parallel_runs(layout, [&](const std::array<int64_t, 2>& off, int64_t count) {
        T* po = o + off[0];
        const S* ps = s + off[1];
        if (so == 1 && ss == 1) {
          for (int64_t j = 0; j < count; ++j) po[j] = convert<T>(ps[j]);
        } else {
          for (int64_t j = 0; j < count; ++j) po[j * so] = convert<T>(ps[j * ss]);
        }
      });
    });
  });
}

void unary_kernel(UnaryOp op, const Tensor& x, Tensor& out, double p0, double p1) {
  visit_floating(out.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    math::with_unary(op, [&](auto op_c) {
      constexpr UnaryOp Op = decltype(op_c)::value;
      const T* in = x.data<T>();
      T* o = out.data<T>();
      const T q0 = T(p0), q1 = T(p1);
      const auto layout = layout_of(out, x);
      const int64_t so = layout.strides[0].back(), sx = layout.strides[1].back();
      parallel_runs(layout, [&](const std::array<int64_t, 2>& off, int64_t count) {
        T* po = o + off[0];
        const T* px = in + off[1];
        if (so == 1 && sx == 1) {
          vector_ops<T>().unary(op, px, po, count, q0, q1);
        } else {
          for (int64_t j = 0; j < count; ++j) po[j * so] = math::unary<Op, T>(px[j * sx], q0, q1);
        }
      });
    });
  });
}

void binary_kernel(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_floating(out.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    math::with_binary(op, [&](auto op_c) {
      constexpr BinaryOp Op = decltype(op_c)::value;
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      T* o = out.data<T>();
      const auto layout = layout_of(out, a, b);
      const int64_t so = layout.strides[0].back(), sa = layout.strides[1].back(), sb = layout.strides[2].back();
      parallel_runs(layout, [&](const std::array<int64_t, 3>& off, int64_t count) {
        T* po = o + off[0];
        const T* xa = pa + off[1];
        const T* xb = pb + off[2];
        if (so == 1 && sa == 1 && (sb == 1 || sb == 0)) {  // sb == 0: tensor (op) scalar-like operand
          vector_ops<T>().binary(op, xa, xb, sb == 0, po, count);
        } else {
          for (int64_t j = 0; j < count; ++j) po[j * so] = math::binary<Op, T>(xa[j * sa], xb[j * sb]);
        }
      });
    });
  });
}

void where_kernel(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_floating(out.dtype(), "where", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pc = cond.data<T>();
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* o = out.data<T>();
    const auto layout = layout_of(out, cond, a, b);
    const int64_t so = layout.strides[0].back(), sc = layout.strides[1].back(), sa = layout.strides[2].back(),
                  sb = layout.strides[3].back();
    parallel_runs(layout, [&](const std::array<int64_t, 4>& off, int64_t count) {
      for (int64_t j = 0; j < count; ++j)
        o[off[0] + j * so] = pc[off[1] + j * sc] != T(0) ? pa[off[2] + j * sa] : pb[off[3] + j * sb];
    });
  });
}

// Reduction: the kept dims index the outputs; the reduced dims are walked for each output.
void reduce_kernel(ReduceOp op, const Tensor& x, Tensor& out) {
  visit_floating(x.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const ReductionLayout layout = split_reduction(x.shape(), x.strides(), out.shape());
    const Shape& kept_shape = layout.kept_shape;
    const Strides& kept_strides = layout.kept_strides;
    const auto red = coalesce<1>(layout.reduced_shape, {&layout.reduced_strides});
    const int64_t n_out = numel(kept_shape), n_red = numel(red.shape);
    const int64_t inner_stride = red.strides[0].back();
    const T* in = x.data<T>();
    T* o = out.data<T>();

    // Folds x's elements [begin, end) of the reduced index range starting at `base`.
    auto fold = [&](int64_t base, int64_t begin, int64_t end) {
      double acc = op == ReduceOp::Sum ? 0.0 : -std::numeric_limits<double>::infinity();
      for_each_run(red, begin, end, [&](const std::array<int64_t, 1>& off, int64_t count) {
        const T* p = in + base + off[0];
        if (op == ReduceOp::Sum && inner_stride == 1) {
          acc += vector_ops<T>().sum(p, count);  // eight independent partial sums
        } else if (op == ReduceOp::Sum) {
          for (int64_t j = 0; j < count; ++j) acc += p[j * inner_stride];
        } else {
          for (int64_t j = 0; j < count; ++j) {
            const double v = p[j * inner_stride];
            if (v != v || v > acc) acc = v;  // NaN wins and stays (NaN > acc is false after)
            if (acc != acc) break;
          }
        }
      });
      return acc;
    };
    auto combine = [&](double acc, double part) {
      if (op == ReduceOp::Sum) return acc + part;
      return (acc != acc || part != part) ? std::numeric_limits<double>::quiet_NaN() : std::max(acc, part);
    };
    auto base_of = [&](int64_t o_index) {  // offset of output o_index's first input element
      int64_t base = 0;
      for (int64_t d = int64_t(kept_shape.size()) - 1; d >= 0; --d) {
        base += (o_index % kept_shape[d]) * kept_strides[d];
        o_index /= kept_shape[d];
      }
      return base;
    };

    if (n_out >= num_threads() || n_out * n_red < kParallelGrain) {
      // Chunks of at least kParallelGrain input elements.
      parallel_for(n_out, grain_for(n_red), [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) o[i] = static_cast<T>(fold(base_of(i), 0, n_red));
      });
    } else {
      // Few outputs, long reductions: split each reduction into one part per thread and add the
      // partial results in part order (deterministic for a given thread count).
      const int64_t parts = num_threads();
      for (int64_t i = 0; i < n_out; ++i) {
        const int64_t base = base_of(i);
        std::vector<double> partial(static_cast<size_t>(parts));
        parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
          for (int64_t p = p0; p < p1; ++p) partial[p] = fold(base, n_red * p / parts, n_red * (p + 1) / parts);
        });
        double acc = partial[0];
        for (int64_t p = 1; p < parts; ++p) acc = combine(acc, partial[p]);
        o[i] = static_cast<T>(acc);
      }
    }
  });
}

// How BLAS should read one [rows, cols] matrix with strides (s_row, s_col), if it can at all.
struct BlasView {
  bool ok = false;
  bool trans = false;
  int64_t ld = 0;
};

BlasView blas_view(int64_t rows, int64_t cols, int64_t s_row, int64_t s_col) {
  if (s_col == 1 && s_row >= std::max<int64_t>(cols, 1)) return {true, false, s_row};
  if (s_row == 1 && s_col >= std::max<int64_t>(rows, 1)) return {true, true, s_col};
  return {};
}

void matmul_kernel(const Tensor& a_in, const Tensor& b_in, Tensor& out) {
  const int64_t batch = a_in.size(0), m = a_in.size(1), k = a_in.size(2), n = b_in.size(2);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    fill_kernel(out, 0.0);
    return;
  }
  // BLAS reads row- or column-major matrices; anything else is copied to row-major first.
  Tensor a = a_in, b = b_in;
  BlasView va = blas_view(m, k, a.strides()[1], a.strides()[2]);
  if (!va.ok) {
    a = Tensor::empty(a_in.shape(), a_in.dtype());
    copy_kernel(a_in, a);
    va = blas_view(m, k, a.strides()[1], a.strides()[2]);
  }
  BlasView vb = blas_view(k, n, b.strides()[1], b.strides()[2]);
  if (!vb.ok) {
    b = Tensor::empty(b_in.shape(), b_in.dtype());
    copy_kernel(b_in, b);
    vb = blas_view(k, n, b.strides()[1], b.strides()[2]);
  }
  visit_floating(out.dtype(), "matmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t i = 0; i < batch; ++i) {
      const T* pa = a.data<T>() + i * a.strides()[0];
      const T* pb = b.data<T>() + i * b.strides()[0];
      T* po = out.data<T>() + i * m * n;
      gemm<T>(va.trans, vb.trans, m, n, k, T(1), pa, va.ld, pb, vb.ld, T(0), po, n);
    }
  });
}

// One pass over the elements, in parallel, each chunk a vector kernel.
void update_kernel(const UpdateRule& rule, Tensor& p, const Tensor& g, Tensor& m, Tensor& v) {
  visit_floating(p.dtype(), "update", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T *pp = p.data<T>(), *pm = m.defined() ? m.data<T>() : nullptr, *pv = v.defined() ? v.data<T>() : nullptr;
    const T* pg = g.data<T>();
    const int64_t n = p.numel();
    parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
      vector_ops<T>().update(rule, pp + begin, pg + begin, pm ? pm + begin : nullptr, pv ? pv + begin : nullptr,
                             end - begin);
    });
  });
}

}  // namespace

const Backend& backend() {
  static const Backend table{.name = "cpu",
                             .fill = fill_kernel,
                             .copy = copy_kernel,
                             .unary = unary_kernel,
                             .binary = binary_kernel,
                             .where = where_kernel,
                             .reduce = reduce_kernel,
                             .matmul = matmul_kernel,
                             .update = update_kernel,
                             .synchronize = [] {}};  // its kernels have finished when they return
  return table;
}

}  // namespace rg::cpu
