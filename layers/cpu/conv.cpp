// Convolution on the CPU, the fast path: the table of algorithms (conv_algorithms.h), auto's choice
// between them per shape and pass, and the kernel entries, which add the bias and its gradient
// around the chosen algorithm.
#include <algorithm>
#include <string>
#include <vector>

#include "layers/cpu/conv_algorithms.h"
#include "layers/cpu/cpu_kernels.h"

namespace rg::cpu {

template <typename T>
const std::vector<ConvAlgorithm<T>>& conv_algorithms() {
  static const std::vector<ConvAlgorithm<T>> table = {im2col_algorithm<T>(), direct_algorithm<T>(),
                                                      winograd_algorithm<T>()};
  return table;
}

namespace {

// Auto: for each pass, algorithms in order of preference, each from an output map of
// `min_positions` (OH*OW) on; the first that applies wins (im2col applies to every shape). The
// fastest in bench_layers at DenseNet121's shapes on the CPUs of bench/RESULTS.md: forward,
// Winograd on maps of 14x14 and more, Direct below; input gradient (a stride-1 one is a
// convolution of gy, with O input channels), Winograd from about 48x48, im2col below, whose GEMM
// is 4x taller than Direct's; filter gradient, Direct. Winograd's error is that of im2col (tests:
// "the CPU convolution algorithms' float32 error").
struct Preference {
  const char* algorithm;
  int64_t min_positions;
};
const std::vector<Preference>& auto_preferences(ConvPass pass) {
  static const std::vector<Preference> forward = {{"winograd", 14 * 14}, {"direct", 0}, {"im2col", 0}};
  static const std::vector<Preference> backward_data = {{"winograd", 48 * 48}, {"im2col", 0}};
  static const std::vector<Preference> backward_filter = {{"direct", 0}, {"im2col", 0}};
  return pass == ConvPass::Forward ? forward : pass == ConvPass::BackwardData ? backward_data : backward_filter;
}

template <typename T>
const ConvAlgorithm<T>& find_algorithm(std::string_view name) {
  for (const auto& a : conv_algorithms<T>())
    if (name == a.name) return a;
  throw Error("no CPU convolution algorithm '" + std::string(name) + "'");
}

template <typename T>
const ConvAlgorithm<T>& chosen(const WindowGeometry& g, ConvPass pass) {
  return find_algorithm<T>(conv_algorithm(g, pass));
}

template <typename T>
void add_bias(const T* b, T* y, const WindowGeometry& g) {
  const int64_t s = g.oh * g.ow;
  parallel_for(g.n * g.o, grain_for(s), [&](int64_t p0, int64_t p1) {
    for (int64_t plane = p0; plane < p1; ++plane)
      for (int64_t i = 0; i < s; ++i) y[plane * s + i] += b[plane % g.o];
  });
}

// gb[o] = the sum of gy's plane o over the batch.
template <typename T>
void bias_gradient(const Tensor& gy, T* gb, const WindowGeometry& g) {
  const int64_t s = g.oh * g.ow;
  const T* pg = gy.data<T>();
  parallel_for(g.o, grain_for(g.n * s), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      double acc = 0;
      for (int64_t n = 0; n < g.n; ++n)
        for (int64_t i = 0; i < s; ++i) acc += pg[n * sample_stride(gy) + o * s + i];
      gb[o] = T(acc);
    }
  });
}

}  // namespace

std::string_view conv_algorithm(const WindowGeometry& g, ConvPass pass) {
  // The same names and rules for every dtype.
  auto applies = [&](std::string_view name) { return find_algorithm<float>(name).applies(g, pass); };
  const std::string& forced = conv_settings().cpu_algo;
  if (forced != "auto" && applies(forced)) return find_algorithm<float>(forced).name;
  for (const Preference& p : auto_preferences(pass))
    if (g.oh * g.ow >= p.min_positions && applies(p.algorithm)) return p.algorithm;
  throw Error("conv2d: no CPU algorithm applies");  // never: every list ends with im2col
}

bool can_backward_data_by_conv(const WindowGeometry& g) {
  return !is_pointwise(g) && g.sh == 1 && g.sw == 1 && g.ph <= (g.kh - 1) * g.dh && g.pw <= (g.kw - 1) * g.dw;
}

// With stride 1, gx[c, y, x] = sum over (o, p, q) of gy[o, y - p*dh + ph, x - q*dw + pw] * w[o, c, p, q]:
// a convolution of gy [N, O, OH, OW] with the filters transposed and flipped. Its columns have
// O*KH*KW rows instead of the C*KH*KW that W^T @ gy would fill (4x fewer for DenseNet's 3x3
// convolutions: 32 filters over 128 channels), and it needs no col2im.
template <typename T>
void backward_data_by_conv(decltype(ConvAlgorithm<T>::forward) forward, const T* w, const T* gy, int64_t gy_stride,
                           T* gx, const WindowGeometry& g) {
  std::vector<T> flipped(size_t(g.c * g.o * g.kh * g.kw));  // [C, O, KH, KW]
  for (int64_t o = 0; o < g.o; ++o)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t p = 0; p < g.kh; ++p)
        for (int64_t q = 0; q < g.kw; ++q)
          flipped[size_t(((c * g.o + o) * g.kh + p) * g.kw + q)] =
              w[((o * g.c + c) * g.kh + (g.kh - 1 - p)) * g.kw + (g.kw - 1 - q)];
  WindowGeometry t = g;
  t.c = g.o, t.h = g.oh, t.w = g.ow;
  t.o = g.c, t.oh = g.h, t.ow = g.w;
  t.ph = (g.kh - 1) * g.dh - g.ph;
  t.pw = (g.kw - 1) * g.dw - g.pw;
  forward(gy, gy_stride, flipped.data(), gx, t);
}
template void backward_data_by_conv<float>(decltype(ConvAlgorithm<float>::forward), const float*, const float*, int64_t,
                                           float*, const WindowGeometry&);
template void backward_data_by_conv<double>(decltype(ConvAlgorithm<double>::forward), const double*, const double*,
                                            int64_t, double*, const WindowGeometry&);

// An empty batch: nothing to compute but the parameter gradients' zeros.
void conv_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const WindowGeometry& g) {
  if (g.n == 0) return;
  visit_floating(x.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    chosen<T>(g, ConvPass::Forward).forward(x.data<T>(), sample_stride(x), weight.data<T>(), y.data<T>(), g);
    if (bias.defined()) add_bias(bias.data<T>(), y.data<T>(), g);
  });
}

void conv_backward_data(const Tensor& weight, const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  if (g.n == 0) return;
  visit_floating(gy.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    chosen<T>(g, ConvPass::BackwardData)
        .backward_data(weight.data<T>(), gy.data<T>(), sample_stride(gy), gx.data<T>(), g);
  });
}

void conv_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, Tensor* gb, const WindowGeometry& g) {
  if (g.n == 0) {
    gw.fill_(0);
    if (gb) gb->fill_(0);
    return;
  }
  visit_floating(x.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    chosen<T>(g, ConvPass::BackwardFilter)
        .backward_filter(x.data<T>(), sample_stride(x), gy.data<T>(), sample_stride(gy), gw.data<T>(), g);
    if (gb) bias_gradient(gy, gb->data<T>(), g);
  });
}

}  // namespace rg::cpu

namespace rg {

std::vector<std::string> cpu_conv_algo_names() {
  std::vector<std::string> names = {"auto"};
  for (const auto& a : cpu::conv_algorithms<float>()) names.push_back(a.name);
  return names;
}

std::string parse_cpu_conv_algo(const std::string& name) {
  const std::vector<std::string> names = cpu_conv_algo_names();
  if (std::find(names.begin(), names.end(), name) != names.end()) return name;
  std::string expected;
  for (size_t i = 0; i < names.size(); ++i)
    expected += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  throw Error("unknown convolution algorithm '" + name + "' (expected " + expected + ")");
}

}  // namespace rg
