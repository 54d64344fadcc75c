// Winograd's F(2x2, 3x3) convolution (conv_algorithms.h). With
//   B^T = [1  0 -1  0]    G = [ 1    0    0 ]    A^T = [1  1  1  0]
//         [0  1  1  0]        [1/2  1/2  1/2]          [0  1 -1 -1]
//         [0 -1  1  0]        [1/2 -1/2  1/2]
//         [0  1  0 -1]        [ 0    0    1 ]
// a 2x2 output tile of one channel pair is A^T [(G g G^T) * (B^T d B)] A, d the 4x4 input tile
// and * elementwise; summed over the input channels, the elementwise products become, for each of
// the 16 positions, a GEMM: M[xi] [O, tiles] = U[xi] [O, C] @ V[xi] [C, tiles].
// The transforms' coefficients are 0, +-1 and +-1/2, so they add little rounding error.
#include <cstring>

#include "layers/cpu/conv_algorithms.h"
#include "layers/cpu/cpu_kernels.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/vector_kernels.h"

namespace rg::cpu {

namespace {

constexpr int64_t kGroupTiles = 1024;  // about this many tiles per group of samples

struct Tiles {
  int64_t th, tw;    // tiles per sample: ceil(OH / 2) x ceil(OW / 2)
  int64_t hq, wq;    // the padded copy of a sample: every tile's 4x4 input inside it
  int64_t count, t;  // samples in the group, tiles in the group
};

Tiles tiles_of(const WindowGeometry& g, int64_t count) {
  Tiles s{(g.oh + 1) / 2, (g.ow + 1) / 2, 0, 0, count, 0};
  s.hq = 2 * s.th + 2;
  s.wq = 2 * s.tw + 2;
  s.t = count * s.th * s.tw;
  return s;
}

// U[xi, o, c] = (G w[o, c] G^T)[xi].
template <typename T>
void transform_filters(const T* w, const WindowGeometry& g, T* u) {
  const int64_t oc = g.o * g.c;
  for (int64_t f = 0; f < oc; ++f) {
    const T* k = w + f * 9;
    T gk[4][3];  // G k: rows
    for (int q = 0; q < 3; ++q) {
      gk[0][q] = k[q];
      gk[1][q] = T(0.5) * (k[q] + k[3 + q] + k[6 + q]);
      gk[2][q] = T(0.5) * (k[q] - k[3 + q] + k[6 + q]);
      gk[3][q] = k[6 + q];
    }
    for (int r = 0; r < 4; ++r) {  // (G k) G^T: columns
      u[(r * 4 + 0) * oc + f] = gk[r][0];
      u[(r * 4 + 1) * oc + f] = T(0.5) * (gk[r][0] + gk[r][1] + gk[r][2]);
      u[(r * 4 + 2) * oc + f] = T(0.5) * (gk[r][0] - gk[r][1] + gk[r][2]);
      u[(r * 4 + 3) * oc + f] = gk[r][2];
    }
  }
}

// V[xi, c, t] = (B^T d B)[xi] for each tile t of the group. d is read from a zero-padded copy of
// channel c's plane whose rows keep their even and odd columns apart: tile tj's four columns are
// then even[tj], odd[tj], even[tj + 1], odd[tj + 1], and each step is a vector kernel over a
// row of tiles (tensor/cpu/vector_kernels.h).
template <typename T>
void transform_inputs(const T* x, int64_t x_stride, const WindowGeometry& g, const Tiles& s, T* v) {
  const int64_t ct = g.c * s.t, row = s.wq, half = row / 2;  // a padded row: [even | odd], half each
  const VectorOps<T>& vk = vector_ops<T>();
  parallel_for(g.c, grain_for(s.count * s.hq * s.wq * 4), [&](int64_t c0, int64_t c1) {
    T* plane = scratch<T>(Scratch::TilePlane, (s.hq + 4) * row);  // [hq][even | odd]
    T* rows = plane + s.hq * row;                                 // B^T d's four rows, each [even | odd]
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t k = 0; k < s.count; ++k) {
        std::fill(plane, plane + s.hq * row, T(0));
        for (int64_t i = 0; i < g.h; ++i) {
          const T* in = x + k * x_stride + (c * g.h + i) * g.w;
          T* even = plane + (i + g.ph) * row;  // padded column jp = j + pw goes to even[jp / 2] or odd[jp / 2]
          T* odd = even + half;
          for (int64_t j = 0; j < g.w; ++j) {
            const int64_t jp = j + g.pw;
            if (jp % 2)
              odd[jp / 2] = in[j];
            else
              even[jp / 2] = in[j];
          }
        }
        for (int64_t ti = 0; ti < s.th; ++ti) {
          const T* d = plane + 2 * ti * row;  // rows 2ti .. 2ti+3
          vk.winograd_input(d, d + row, d + 2 * row, d + 3 * row, rows, rows + row, rows + 2 * row, rows + 3 * row,
                            row);
          for (int r = 0; r < 4; ++r) {
            const T* e = rows + r * row;
            const T* o = e + half;
            T* out = v + r * 4 * ct + c * s.t + (k * s.th + ti) * s.tw;
            vk.winograd_input(e, o, e + 1, o + 1, out, out + ct, out + 2 * ct, out + 3 * ct, s.tw);
          }
        }
      }
  });
}

// y's 2x2 tiles = A^T M[., o, t] A, a row of tiles at a time, clipped at the bottom and right edges.
template <typename T>
void transform_outputs(const T* m, const WindowGeometry& g, const Tiles& s, T* y) {
  const int64_t ot = g.o * s.t, plane = g.oh * g.ow;
  const VectorOps<T>& vk = vector_ops<T>();
  parallel_for(s.count * g.o, grain_for(s.th * s.tw * 16), [&](int64_t b0, int64_t b1) {
    T* a = scratch<T>(Scratch::TileOutput, 10 * s.tw);  // A^T m: [2][4][tw]
    T* even = a + 8 * s.tw;                             // one output row's even and odd columns
    T* odd = even + s.tw;
    for (int64_t b = b0; b < b1; ++b) {  // b = k*O + o
      const int64_t k = b / g.o, o = b % g.o;
      T* out = y + (k * g.o + o) * plane;
      for (int64_t ti = 0; ti < s.th; ++ti) {
        const T* in = m + o * s.t + (k * s.th + ti) * s.tw;  // position xi's row of tiles at in + xi * ot
        for (int q = 0; q < 4; ++q)
          vk.winograd_output(in + q * ot, in + (4 + q) * ot, in + (8 + q) * ot, in + (12 + q) * ot, a + q * s.tw,
                             a + (4 + q) * s.tw, s.tw);
        for (int r = 0; r < 2 && 2 * ti + r < g.oh; ++r) {
          const T* ar = a + 4 * r * s.tw;
          vk.winograd_output(ar, ar + s.tw, ar + 2 * s.tw, ar + 3 * s.tw, even, odd, s.tw);
          T* dst = out + (2 * ti + r) * g.ow;
          for (int64_t jj = 0; jj < g.ow / 2; ++jj) {  // interleaved again: columns 2jj and 2jj+1
            dst[2 * jj] = even[jj];
            dst[2 * jj + 1] = odd[jj];
          }
          if (g.ow % 2) dst[g.ow - 1] = even[g.ow / 2];
        }
      }
    }
  });
}

template <typename T>
void forward(const T* x, int64_t x_stride, const T* w, T* y, const WindowGeometry& g) {
  T* u = scratch<T>(Scratch::Filters, 16 * g.o * g.c);
  transform_filters(w, g, u);
  const Tiles one = tiles_of(g, 1);
  const int64_t group = samples_per_group(kGroupTiles, one.th * one.tw, g.n);
  for (int64_t n0 = 0; n0 < g.n; n0 += group) {
    const Tiles s = tiles_of(g, std::min(group, g.n - n0));
    T* v = scratch<T>(Scratch::Working, 16 * s.t * (g.c + g.o));
    T* m = v + 16 * g.c * s.t;
    transform_inputs(x + n0 * x_stride, x_stride, g, s, v);
    parallel_for(16, 1, [&](int64_t x0, int64_t x1) {  // the 16 GEMMs, one per thread at a time
      for (int64_t xi = x0; xi < x1; ++xi)
        gemm<T>(false, false, g.o, s.t, g.c, T(1), u + xi * g.o * g.c, g.c, v + xi * g.c * s.t, s.t, T(0),
                m + xi * g.o * s.t, s.t);
    });
    transform_outputs(m, g, s, y + n0 * g.o * g.oh * g.ow);
  }
}

// 3x3, stride 1, dilation 1, padding at most 2; forward and (as a convolution of gy) input gradient.
bool applies(const WindowGeometry& g, ConvPass pass) {
  const bool shape =
      g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.ph <= 2 && g.pw <= 2;
  return shape && (pass == ConvPass::Forward || (pass == ConvPass::BackwardData && can_backward_data_by_conv(g)));
}

}  // namespace

template <typename T>
ConvAlgorithm<T> winograd_algorithm() {
  return {.name = "winograd",
          .applies = applies,
          .forward = forward<T>,
          .backward_data = backward_data_as_conv<T, forward<T>>,
          .backward_filter = nullptr};
}
template ConvAlgorithm<float> winograd_algorithm<float>();
template ConvAlgorithm<double> winograd_algorithm<double>();

}  // namespace rg::cpu
