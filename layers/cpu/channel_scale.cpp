// Channel scale on the CPU, the fast path: the [H, W] planes in parallel, each plane one
// multiply (forward) or one multiply and one dot product (backward). (The definitions are in
// reference.cpp.)
#include "layers/cpu/cpu_kernels.h"

namespace rg::cpu {

void channel_scale_forward(const Tensor& x, const Tensor& s, Tensor& y) {
  const ChannelLayout l = channel_layout(x);
  visit_floating(x.dtype(), "channel_scale", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *ps = s.data<T>();
    T* py = y.data<T>();
    parallel_for(l.n * l.c, grain_for(l.s), [&](int64_t plane0, int64_t plane1) {
      for (int64_t plane = plane0; plane < plane1; ++plane) {
        const T* in = px + (plane / l.c) * l.batch_stride + (plane % l.c) * l.s;
        T* out = py + plane * l.s;
        const T scale = ps[plane];
        for (int64_t i = 0; i < l.s; ++i) out[i] = in[i] * scale;
      }
    });
  });
}

void channel_scale_backward(const Tensor& x, const Tensor& s, const Tensor& gy, Tensor* gx, Tensor* gs) {
  const ChannelLayout l = channel_layout(x);
  visit_floating(x.dtype(), "channel_scale", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *px = x.data<T>(), *ps = s.data<T>(), *pg = gy.data<T>();
    parallel_for(l.n * l.c, grain_for(l.s), [&](int64_t plane0, int64_t plane1) {
      for (int64_t plane = plane0; plane < plane1; ++plane) {
        const T* in = px + (plane / l.c) * l.batch_stride + (plane % l.c) * l.s;
        const T* g = pg + plane * l.s;
        if (gx) {
          T* out = gx->data<T>() + plane * l.s;
          const T scale = ps[plane];
          for (int64_t i = 0; i < l.s; ++i) out[i] = g[i] * scale;
        }
        if (gs) {
          double dot = 0;
          for (int64_t i = 0; i < l.s; ++i) dot += double(g[i]) * double(in[i]);
          gs->data<T>()[plane] = T(dot);
        }
      }
    });
  });
}

}  // namespace rg::cpu
