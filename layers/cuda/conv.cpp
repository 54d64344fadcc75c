// Convolution on cuDNN: forward, backward-data and backward-filter through the plan cache.
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "layers/cuda/conv_plan.h"
#include "layers/cuda/cuda_layer_kernels.h"
#include "tensor/cuda/cuda_check.h"

namespace rg::cuda {

ConvKey conv_key(const WindowGeometry& g, int64_t x_batch_stride, DType dtype) {
  const ConvSettings& s = conv_settings();
  const int64_t batch_stride = g.n == 1 ? g.c * g.h * g.w : x_batch_stride;
  return {g.n,
          g.c,
          g.h,
          g.w,
          batch_stride,
          g.o,
          g.kh,
          g.kw,
          g.sh,
          g.sw,
          g.ph,
          g.pw,
          g.dh,
          g.dw,
          dtype,
          s.tf32 && dtype == DType::Float32,
          s.deterministic,
          s.benchmark,
          s.workspace_limit};
}

std::string describe(const ConvKey& k) {
  std::ostringstream out;
  out << "input [" << k.n << ", " << k.c << ", " << k.h << ", " << k.w << "] (batch stride " << k.x_batch_stride
      << "), " << k.o << " " << k.kh << "x" << k.kw << " filters, stride " << k.sh << "x" << k.sw << ", padding "
      << k.ph << "x" << k.pw << ", dilation " << k.dh << "x" << k.dw << ", " << dtype_name(k.dtype);
  return out.str();
}

ConvPlan make_conv_plan(const ConvKey& k) {
  const WindowGeometry g{k.n,
                         k.c,
                         k.h,
                         k.w,
                         k.o,
                         k.kh,
                         k.kw,
                         window_output_size(k.h, k.kh, k.sh, k.ph, k.dh),
                         window_output_size(k.w, k.kw, k.sw, k.pw, k.dw),
                         k.sh,
                         k.sw,
                         k.ph,
                         k.pw,
                         k.dh,
                         k.dw};
  ConvPlan p;
  p.x = tensor_desc(k.dtype, g.n, g.c, g.h, g.w, k.x_batch_stride, g.h * g.w, g.w, 1);
  p.gx = tensor_desc(k.dtype, g.n, g.c, g.h, g.w, g.c * g.h * g.w, g.h * g.w, g.w, 1);
  p.y = tensor_desc(k.dtype, g.n, g.o, g.oh, g.ow, g.o * g.oh * g.ow, g.oh * g.ow, g.ow, 1);
  p.w = filter_desc(k.dtype, g.o, g.c, g.kh, g.kw);
  p.bias = tensor_desc(k.dtype, 1, g.o, 1, 1, g.o, 1, 1, 1);
  for (ConvDesc* d : {&p.fwd_conv, &p.data_conv, &p.filter_conv})
    *d = conv_desc(k.dtype, g.ph, g.pw, g.sh, g.sw, g.dh, g.dw);
  return p;
}

bool worth_another_algorithm(cudnnStatus_t status) {
  const int category = CUDNN_STATUS_CATEGORY(int(status));
  return category == CUDNN_STATUS_NOT_SUPPORTED || category == CUDNN_STATUS_EXECUTION_FAILED ||
         category == CUDNN_STATUS_INTERNAL_ERROR;
}

ConvPlan& ConvPlanCache::plan(const ConvKey& key) {
  auto it = plans_.find(key);
  if (it != plans_.end()) {
    ++hits_;
    return it->second;
  }
  ++misses_;
  return plans_.emplace(key, make_conv_plan(key)).first->second;
}

template <typename Algo, typename Choose>
std::vector<ConvAlgo<Algo>>& ConvPlanCache::chosen(std::vector<ConvAlgo<Algo>>& candidates,
                                                   cudnnConvolutionDescriptor_t conv, const Choose& choose) {
  if (candidates.empty()) {
    candidates = choose();
    RG_CHECK(!candidates.empty(), "cuDNN: the algorithm chooser returned no candidate");
    RG_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, candidates.front().math));
    ++choices_;
  }
  return candidates;
}

std::vector<FwdAlgo>& ConvPlanCache::fwd(const ConvKey& key, ConvPlan& plan, const MakeChooser& make_chooser) {
  return chosen(plan.fwd, plan.fwd_conv.get(), [&] { return make_chooser().fwd(key, plan); });
}
std::vector<DataAlgo>& ConvPlanCache::data(const ConvKey& key, ConvPlan& plan, const MakeChooser& make_chooser) {
  return chosen(plan.data, plan.data_conv.get(), [&] { return make_chooser().data(key, plan); });
}
std::vector<FilterAlgo>& ConvPlanCache::filter(const ConvKey& key, ConvPlan& plan, const MakeChooser& make_chooser) {
  return chosen(plan.filter, plan.filter_conv.get(), [&] { return make_chooser().filter(key, plan); });
}

void ConvPlanCache::report_fallback(const ConvKey& key, const char* direction, const std::string& why) {
  std::fprintf(stderr, "cuDNN %s convolution (%s): %s; trying the next algorithm\n", direction, describe(key).c_str(),
               why.c_str());
}

ConvPlanCache& conv_plan_cache(Device device) {
  static std::mutex mutex;
  static auto* caches = new std::vector<std::unique_ptr<ConvPlanCache>>();  // never destroyed
  std::lock_guard<std::mutex> lock(mutex);
  if (int(caches->size()) <= device.index) caches->resize(device.index + 1);
  auto& slot = (*caches)[device.index];
  if (!slot) slot = std::make_unique<ConvPlanCache>();
  return *slot;
}

namespace {

// ROENTGEN_CUDNN_VERBOSE=1: print the algorithms chosen, once per shape and direction.
bool verbose() {
  static const bool on = [] {
    const char* v = std::getenv("ROENTGEN_CUDNN_VERBOSE");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

const char* math_name(cudnnMathType_t math) {
  return math == CUDNN_FMA_MATH ? "FMA" : math == CUDNN_DEFAULT_MATH ? "default" : "tensor-op";
}

// cuDNN's ranked results that succeeded, fit the workspace limit and (when asked) are
// deterministic, best first. Without TF32, float32 convolutions run with CUDNN_FMA_MATH whatever
// the result says.
template <typename Algo, typename Perf>
std::vector<ConvAlgo<Algo>> candidates(const Perf* results, int count, const ConvKey& key, const char* direction) {
  std::vector<ConvAlgo<Algo>> out;
  for (int i = 0; i < count; ++i) {
    const Perf& r = results[i];
    if (r.status != CUDNN_STATUS_SUCCESS || r.memory > key.workspace_limit) continue;
    if (key.deterministic && r.determinism != CUDNN_DETERMINISTIC) continue;
    const cudnnMathType_t math = (key.dtype == DType::Float32 && !key.tf32) ? CUDNN_FMA_MATH : r.mathType;
    out.push_back({r.algo, math, r.memory});
  }
  RG_CHECK(!out.empty(), "cuDNN: no ", direction, " convolution algorithm for ", describe(key),
           " fits the workspace limit of ", key.workspace_limit, " bytes",
           key.deterministic ? " deterministically" : "");
  if (verbose()) {
    std::fprintf(stderr, "cuDNN %s convolution (%s):", direction, describe(key).c_str());
    for (const auto& a : out)
      std::fprintf(stderr, " algorithm %d (%s, %zu bytes)", int(a.algo), math_name(a.math), a.workspace);
    std::fprintf(stderr, "\n");
  }
  return out;
}

// Scratch tensors of a plan's sizes, for timing algorithms without touching real data.
Tensor scratch(int64_t elements, const ConvKey& key, Device device) {
  return Tensor::empty({elements}, key.dtype, device);
}
int64_t x_elements(const ConvKey& k) { return (k.n - 1) * k.x_batch_stride + k.c * k.h * k.w; }
int64_t y_elements(const ConvKey& k) {
  return k.n * k.o * window_output_size(k.h, k.kh, k.sh, k.ph, k.dh) * window_output_size(k.w, k.kw, k.sw, k.pw, k.dw);
}
int64_t w_elements(const ConvKey& k) { return k.o * k.c * k.kh * k.kw; }
void* pointer(const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; }  // a workspace of 0 bytes is none

// What differs between the three directions' searches, for search<Perf> below (the shape of
// PyTorch's algorithm_search<perf_t>): the name, cuDNN's count of algorithms, the direction's
// convolution descriptor, and its heuristic (get) and timed (find) queries. find runs on scratch
// tensors of the plan's sizes, so timing never touches real data.
template <typename Perf>
struct Direction;

template <>
struct Direction<cudnnConvolutionFwdAlgoPerf_t> {
  static constexpr const char* name = "forward";
  static constexpr int count = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  static cudnnConvolutionDescriptor_t conv(const ConvPlan& p) { return p.fwd_conv.get(); }
  static cudnnStatus_t get(cudnnHandle_t h, const ConvPlan& p, int* n, cudnnConvolutionFwdAlgoPerf_t* r) {
    return cudnnGetConvolutionForwardAlgorithm_v7(h, p.x.get(), p.w.get(), p.fwd_conv.get(), p.y.get(), count, n, r);
  }
  static cudnnStatus_t find(cudnnHandle_t h, const ConvKey& k, const ConvPlan& p, Device d, const Tensor& ws, int* n,
                            cudnnConvolutionFwdAlgoPerf_t* r) {
    const Tensor x = scratch(x_elements(k), k, d), w = scratch(w_elements(k), k, d), y = scratch(y_elements(k), k, d);
    return cudnnFindConvolutionForwardAlgorithmEx(h, p.x.get(), x.data_ptr(), p.w.get(), w.data_ptr(), p.fwd_conv.get(),
                                                  p.y.get(), y.data_ptr(), count, n, r, pointer(ws), k.workspace_limit);
  }
};

template <>
struct Direction<cudnnConvolutionBwdDataAlgoPerf_t> {
  static constexpr const char* name = "backward-data";
  static constexpr int count = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
  static cudnnConvolutionDescriptor_t conv(const ConvPlan& p) { return p.data_conv.get(); }
  static cudnnStatus_t get(cudnnHandle_t h, const ConvPlan& p, int* n, cudnnConvolutionBwdDataAlgoPerf_t* r) {
    return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w.get(), p.y.get(), p.data_conv.get(), p.gx.get(), count, n,
                                                       r);
  }
  static cudnnStatus_t find(cudnnHandle_t h, const ConvKey& k, const ConvPlan& p, Device d, const Tensor& ws, int* n,
                            cudnnConvolutionBwdDataAlgoPerf_t* r) {
    const Tensor w = scratch(w_elements(k), k, d), gy = scratch(y_elements(k), k, d),
                 gx = scratch(k.n * k.c * k.h * k.w, k, d);
    return cudnnFindConvolutionBackwardDataAlgorithmEx(h, p.w.get(), w.data_ptr(), p.y.get(), gy.data_ptr(),
                                                       p.data_conv.get(), p.gx.get(), gx.data_ptr(), count, n, r,
                                                       pointer(ws), k.workspace_limit);
  }
};

template <>
struct Direction<cudnnConvolutionBwdFilterAlgoPerf_t> {
  static constexpr const char* name = "backward-filter";
  static constexpr int count = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
  static cudnnConvolutionDescriptor_t conv(const ConvPlan& p) { return p.filter_conv.get(); }
  static cudnnStatus_t get(cudnnHandle_t h, const ConvPlan& p, int* n, cudnnConvolutionBwdFilterAlgoPerf_t* r) {
    return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.x.get(), p.y.get(), p.filter_conv.get(), p.w.get(), count,
                                                         n, r);
  }
  static cudnnStatus_t find(cudnnHandle_t h, const ConvKey& k, const ConvPlan& p, Device d, const Tensor& ws, int* n,
                            cudnnConvolutionBwdFilterAlgoPerf_t* r) {
    const Tensor x = scratch(x_elements(k), k, d), gy = scratch(y_elements(k), k, d), gw = scratch(w_elements(k), k, d);
    return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, p.x.get(), x.data_ptr(), p.y.get(), gy.data_ptr(),
                                                         p.filter_conv.get(), p.w.get(), gw.data_ptr(), count, n, r,
                                                         pointer(ws), k.workspace_limit);
  }
};

// One direction's ranked candidates: timed by cuDNN when ConvSettings::benchmark is on, else its
// heuristics; the math type asked for is TF32's tensor ops or plain FMA, as the key says.
template <typename Perf>
auto search(cudnnHandle_t h, Device device, const ConvKey& k, const ConvPlan& p) {
  using D = Direction<Perf>;
  Perf results[D::count];
  int n = 0;
  RG_CUDNN_CHECK(cudnnSetConvolutionMathType(D::conv(p), k.tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  if (k.benchmark)
    RG_CUDNN_CHECK(D::find(h, k, p, device, workspace(k.workspace_limit, device), &n, results));
  else
    RG_CUDNN_CHECK(D::get(h, p, &n, results));
  return candidates<decltype(results[0].algo)>(results, n, k, D::name);
}

// search<Perf> on `device`, as a ConvChooser entry.
template <typename Perf>
auto searcher(cudnnHandle_t h, Device device) {
  return [=](const ConvKey& k, const ConvPlan& p) { return search<Perf>(h, device, k, p); };
}

}  // namespace

ConvChooser cudnn_chooser(Device device) {
  cudnnHandle_t h = cudnn_handle(device);
  return {.fwd = searcher<cudnnConvolutionFwdAlgoPerf_t>(h, device),
          .data = searcher<cudnnConvolutionBwdDataAlgoPerf_t>(h, device),
          .filter = searcher<cudnnConvolutionBwdFilterAlgoPerf_t>(h, device)};
}

// ---- the kernels ----------------------------------------------------------------------------
// An empty batch has nothing to convolve (cuDNN refuses a tensor with a size of 0): the outputs
// are empty too, except the filter and bias gradients, which are zeros.

void conv_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y, const WindowGeometry& g) {
  if (g.n == 0) return;
  DeviceGuard guard(x.device().index);
  const ConvKey key = conv_key(g, x.strides()[0], x.dtype());
  ConvPlanCache& cache = conv_plan_cache(x.device());
  ConvPlan& plan = cache.plan(key);
  cudnnHandle_t h = cudnn_handle(x.device());
  cache.run<cudnnConvolutionFwdAlgo_t>(
      cache.fwd(key, plan, [&] { return cudnn_chooser(x.device()); }), plan.fwd_conv.get(), key, "forward",
      [&](size_t bytes) { return workspace(bytes, x.device()); },
      [&](const FwdAlgo& a, void* ws) {
        return cudnnConvolutionForward(h, kOne.of(x.dtype()), plan.x.get(), x.data_ptr(), plan.w.get(),
                                       weight.data_ptr(), plan.fwd_conv.get(), a.algo, ws, a.workspace,
                                       kZero.of(x.dtype()), plan.y.get(), y.data_ptr());
      });
  if (bias.defined())
    RG_CUDNN_CHECK(cudnnAddTensor(h, kOne.of(x.dtype()), plan.bias.get(), bias.data_ptr(), kOne.of(x.dtype()),
                                  plan.y.get(), y.data_ptr()));
}

void conv_backward_data(const Tensor& weight, const Tensor& gy, Tensor& gx, const WindowGeometry& g) {
  if (g.n == 0) return;
  check_contiguous(gy, "conv2d backward", "gy");
  DeviceGuard guard(gy.device().index);
  const ConvKey key = conv_key(g, g.c * g.h * g.w, gy.dtype());  // gx is contiguous
  ConvPlanCache& cache = conv_plan_cache(gy.device());
  ConvPlan& plan = cache.plan(key);
  cache.run<cudnnConvolutionBwdDataAlgo_t>(
      cache.data(key, plan, [&] { return cudnn_chooser(gy.device()); }), plan.data_conv.get(), key, "backward-data",
      [&](size_t bytes) { return workspace(bytes, gy.device()); },
      [&](const DataAlgo& a, void* ws) {
        return cudnnConvolutionBackwardData(cudnn_handle(gy.device()), kOne.of(gy.dtype()), plan.w.get(),
                                            weight.data_ptr(), plan.y.get(), gy.data_ptr(), plan.data_conv.get(),
                                            a.algo, ws, a.workspace, kZero.of(gy.dtype()), plan.gx.get(),
                                            gx.data_ptr());
      });
}

void conv_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, Tensor* gb, const WindowGeometry& g) {
  if (g.n == 0) {
    gw.fill_(0);
    if (gb) gb->fill_(0);
    return;
  }
  check_contiguous(gy, "conv2d backward", "gy");
  DeviceGuard guard(x.device().index);
  const ConvKey key = conv_key(g, x.strides()[0], x.dtype());
  ConvPlanCache& cache = conv_plan_cache(x.device());
  ConvPlan& plan = cache.plan(key);
  cudnnHandle_t h = cudnn_handle(x.device());
  cache.run<cudnnConvolutionBwdFilterAlgo_t>(
      cache.filter(key, plan, [&] { return cudnn_chooser(x.device()); }), plan.filter_conv.get(), key,
      "backward-filter", [&](size_t bytes) { return workspace(bytes, x.device()); },
      [&](const FilterAlgo& a, void* ws) {
        return cudnnConvolutionBackwardFilter(h, kOne.of(x.dtype()), plan.x.get(), x.data_ptr(), plan.y.get(),
                                              gy.data_ptr(), plan.filter_conv.get(), a.algo, ws, a.workspace,
                                              kZero.of(x.dtype()), plan.w.get(), gw.data_ptr());
      });
  if (gb)
    RG_CUDNN_CHECK(cudnnConvolutionBackwardBias(h, kOne.of(x.dtype()), plan.y.get(), gy.data_ptr(), kZero.of(x.dtype()),
                                                plan.bias.get(), gb->data_ptr()));
}

}  // namespace rg::cuda
