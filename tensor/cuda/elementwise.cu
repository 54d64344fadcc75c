// CUDA elementwise kernels: fill, copy (with dtype conversion), unary, binary and where.
// Each thread handles elements i, i + stride, ... (a grid-stride loop); the per-element math is
// the one in tensor/scalar_math.h that the CPU kernels use.
#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/indexer.cuh"
#include "tensor/cuda/kernels.h"
#include "tensor/scalar_math.h"

namespace rg::cuda {
namespace {

template <typename T>
__global__ void fill_kernel(Indexer<1> ix, int64_t n, T* out, T value) {
  RG_GRID_STRIDE_LOOP(i, n) {
    int64_t off[1];
    ix.offsets(i, off);
    out[off[0]] = value;
  }
}

template <typename S, typename T>
__global__ void copy_kernel(Indexer<2> ix, int64_t n, const S* src, T* out) {
  RG_GRID_STRIDE_LOOP(i, n) {
    int64_t off[2];
    ix.offsets(i, off);
    out[off[0]] = convert<T>(src[off[1]]);
  }
}

template <UnaryOp Op, typename T>
__global__ void unary_kernel(Indexer<2> ix, int64_t n, const T* x, T* out, T p0, T p1) {
  RG_GRID_STRIDE_LOOP(i, n) {
    int64_t off[2];
    ix.offsets(i, off);
    out[off[0]] = math::unary<Op, T>(x[off[1]], p0, p1);
  }
}

template <BinaryOp Op, typename T>
__global__ void binary_kernel(Indexer<3> ix, int64_t n, const T* a, const T* b, T* out) {
  RG_GRID_STRIDE_LOOP(i, n) {
    int64_t off[3];
    ix.offsets(i, off);
    out[off[0]] = math::binary<Op, T>(a[off[1]], b[off[2]]);
  }
}

template <typename T>
__global__ void where_kernel(Indexer<4> ix, int64_t n, const T* cond, const T* a, const T* b, T* out) {
  RG_GRID_STRIDE_LOOP(i, n) {
    int64_t off[4];
    ix.offsets(i, off);
    out[off[0]] = cond[off[1]] != T(0) ? a[off[2]] : b[off[3]];
  }
}

}  // namespace

void fill(Tensor& out, double value) {
  DeviceGuard guard(out.device().index);
  const int64_t n = out.numel();
  if (n == 0) return;
  const auto ix = make_indexer(coalesce<1>(out.shape(), {&out.strides()}), "fill");
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    fill_kernel<T><<<grid_for(n), 256>>>(ix, n, out.data<T>(), convert<T>(value));
  });
  RG_CUDA_CHECK_LAUNCH(fill);
}

void copy(const Tensor& src, Tensor& out) {
  DeviceGuard guard(out.device().index);
  const int64_t n = out.numel();
  if (n == 0) return;
  const auto ix = make_indexer(coalesce<2>(out.shape(), {&out.strides(), &src.strides()}), "copy");
  visit_dtype(src.dtype(), [&](auto src_tag) {
    using S = typename decltype(src_tag)::type;
    visit_dtype(out.dtype(), [&](auto out_tag) {
      using T = typename decltype(out_tag)::type;
      copy_kernel<S, T><<<grid_for(n), 256>>>(ix, n, src.data<S>(), out.data<T>());
    });
  });
  RG_CUDA_CHECK_LAUNCH(copy);
}

void unary(UnaryOp op, const Tensor& x, Tensor& out, double p0, double p1) {
  DeviceGuard guard(out.device().index);
  const int64_t n = out.numel();
  if (n == 0) return;
  const auto ix = make_indexer(coalesce<2>(out.shape(), {&out.strides(), &x.strides()}), op_name(op));
  visit_floating(out.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    math::with_unary(op, [&](auto op_c) {
      unary_kernel<decltype(op_c)::value, T><<<grid_for(n), 256>>>(ix, n, x.data<T>(), out.data<T>(), T(p0), T(p1));
    });
  });
  RG_CUDA_CHECK_LAUNCH(unary);
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  DeviceGuard guard(out.device().index);
  const int64_t n = out.numel();
  if (n == 0) return;
  const auto ix = make_indexer(coalesce<3>(out.shape(), {&out.strides(), &a.strides(), &b.strides()}), op_name(op));
  visit_floating(out.dtype(), op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    math::with_binary(op, [&](auto op_c) {
      binary_kernel<decltype(op_c)::value, T><<<grid_for(n), 256>>>(ix, n, a.data<T>(), b.data<T>(), out.data<T>());
    });
  });
  RG_CUDA_CHECK_LAUNCH(binary);
}

template <typename T>
__global__ void update_kernel(UpdateRule rule, int64_t n, T* p, const T* g, T* m, T* v) {
  RG_GRID_STRIDE_LOOP(i, n) { math::optimizer_update(rule, p[i], g[i], m ? m + i : nullptr, v ? v + i : nullptr); }
}

void update(const UpdateRule& rule, Tensor& p, const Tensor& g, Tensor& m, Tensor& v) {
  DeviceGuard guard(p.device().index);
  const int64_t n = p.numel();
  if (n == 0) return;
  visit_floating(p.dtype(), "update", [&](auto tag) {
    using T = typename decltype(tag)::type;
    update_kernel<T><<<grid_for(n), 256>>>(rule, n, p.data<T>(), g.data<T>(), m.defined() ? m.data<T>() : nullptr,
                                           v.defined() ? v.data<T>() : nullptr);
  });
  RG_CUDA_CHECK_LAUNCH(update_kernel);
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  DeviceGuard guard(out.device().index);
  const int64_t n = out.numel();
  if (n == 0) return;
  const auto ix =
      make_indexer(coalesce<4>(out.shape(), {&out.strides(), &cond.strides(), &a.strides(), &b.strides()}), "where");
  visit_floating(out.dtype(), "where", [&](auto tag) {
    using T = typename decltype(tag)::type;
    where_kernel<T><<<grid_for(n), 256>>>(ix, n, cond.data<T>(), a.data<T>(), b.data<T>(), out.data<T>());
  });
  RG_CUDA_CHECK_LAUNCH(where);
}

}  // namespace rg::cuda
