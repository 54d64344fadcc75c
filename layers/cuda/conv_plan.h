// The per-shape cache of cuDNN convolution plans: descriptors and the algorithms of each direction,
// worked out once per distinct convolution (DenseNet121 has about 66 per batch size, so nothing is
// ever evicted).
//
// A plan's descriptors are made from its key alone. Each direction's algorithms are chosen the
// first time that direction runs, by a Chooser: cudnnGet*Algorithm_v7's heuristics (the default)
// or timing with cudnnFind*AlgorithmEx (ConvSettings::benchmark). The chooser keeps every ranked
// candidate that passes the filters; the first one runs, and one that cuDNN refuses at run time
// is dropped for good in favour of the next (as PyTorch's AlgoIterator does). Tests give a
// stand-in chooser and stand-in calls to check the keying and the fallback without a GPU.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "layers/conv_settings.h"
#include "layers/cuda/cudnn_common.h"
#include "layers/geometry.h"

namespace rg::cuda {

// Everything that makes two convolutions different for cuDNN, the settings that filter the
// algorithms included (so changing one mid-run never keeps a stale choice).
struct ConvKey {
  int64_t n, c, h, w, x_batch_stride;  // the input (a channel prefix has a larger batch stride)
  int64_t o, kh, kw, sh, sw, ph, pw, dh, dw;
  DType dtype;
  bool tf32, deterministic, benchmark;
  size_t workspace_limit;
  auto operator<=>(const ConvKey&) const = default;
};

// With the current ConvSettings. A batch of 1 keys with the packed batch stride c*h*w whatever
// x's is (it never steps between samples), so one shape gets one plan.
ConvKey conv_key(const WindowGeometry& g, int64_t x_batch_stride, DType dtype);
// "input [2, 64, 56, 56] (batch stride 200704), 128 1x1 filters, stride 1x1, padding 0x0,
// dilation 1x1, float32"
std::string describe(const ConvKey& key);

// One algorithm of one direction: the algorithm, the math type to run it with and its workspace.
template <typename Algo>
struct ConvAlgo {
  Algo algo;
  cudnnMathType_t math;
  size_t workspace;
};
using FwdAlgo = ConvAlgo<cudnnConvolutionFwdAlgo_t>;
using DataAlgo = ConvAlgo<cudnnConvolutionBwdDataAlgo_t>;
using FilterAlgo = ConvAlgo<cudnnConvolutionBwdFilterAlgo_t>;

struct ConvPlan {
  TensorDesc x, gx, y;  // x with its strides; gx and y (and gy) contiguous
  FilterDesc w;
  TensorDesc bias;  // [1, O, 1, 1]
  // One convolution descriptor per direction: each carries the math type of its own algorithm.
  ConvDesc fwd_conv, data_conv, filter_conv;
  // Each direction's candidates, best first; the first is the one in use. Empty until chosen.
  std::vector<FwdAlgo> fwd;
  std::vector<DataAlgo> data;
  std::vector<FilterAlgo> filter;
};

ConvPlan make_conv_plan(const ConvKey& key);  // descriptors only: works without a GPU

// How each direction's candidates are chosen, given the plan's descriptors.
struct ConvChooser {
  std::function<std::vector<FwdAlgo>(const ConvKey&, const ConvPlan&)> fwd;
  std::function<std::vector<DataAlgo>(const ConvKey&, const ConvPlan&)> data;
  std::function<std::vector<FilterAlgo>(const ConvKey&, const ConvPlan&)> filter;
};
ConvChooser cudnn_chooser(Device device);  // heuristics or timing, as ConvSettings says

// Whether a failed convolution call says "this algorithm cannot run here" (not supported, failed
// to execute, or cuDNN could not get its memory), so the next candidate is worth a try. A bad
// parameter is our mistake and ends the call.
bool worth_another_algorithm(cudnnStatus_t status);

class ConvPlanCache {
 public:
  // The plan for `key`, its descriptors made on first use (a miss), afterwards found (a hit).
  ConvPlan& plan(const ConvKey& key);
  // The candidates of one direction, chosen on its first use by the chooser that `make_chooser`
  // returns (so a hit costs nothing), the first set into that direction's descriptor.
  using MakeChooser = std::function<ConvChooser()>;
  std::vector<FwdAlgo>& fwd(const ConvKey& key, ConvPlan& plan, const MakeChooser& make_chooser);
  std::vector<DataAlgo>& data(const ConvKey& key, ConvPlan& plan, const MakeChooser& make_chooser);
  std::vector<FilterAlgo>& filter(const ConvKey& key, ConvPlan& plan, const MakeChooser& make_chooser);

  // Runs one direction: call(algorithm, workspace) with the first candidate and a workspace of its
  // size from workspace_of. When cuDNN refuses it at run time (worth_another_algorithm) or its
  // workspace cannot be allocated, that candidate is dropped for good, the next one set into the
  // direction's descriptor `conv` and tried; an rg::Error when none is left.
  template <typename Algo>
  void run(std::vector<ConvAlgo<Algo>>& candidates, cudnnConvolutionDescriptor_t conv, const ConvKey& key,
           const char* direction, const std::function<Tensor(size_t)>& workspace_of,
           const std::function<cudnnStatus_t(const ConvAlgo<Algo>&, void*)>& call);

  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }
  int64_t choices() const { return choices_; }      // directions whose candidates were chosen
  int64_t fallbacks() const { return fallbacks_; }  // candidates dropped at run time
  size_t size() const { return plans_.size(); }

 private:
  template <typename Algo, typename Choose>
  std::vector<ConvAlgo<Algo>>& chosen(std::vector<ConvAlgo<Algo>>& candidates, cudnnConvolutionDescriptor_t conv,
                                      const Choose& choose);
  static void report_fallback(const ConvKey& key, const char* direction, const std::string& why);

  std::map<ConvKey, ConvPlan> plans_;
  int64_t hits_ = 0, misses_ = 0, choices_ = 0, fallbacks_ = 0;
};

template <typename Algo>
void ConvPlanCache::run(std::vector<ConvAlgo<Algo>>& candidates, cudnnConvolutionDescriptor_t conv, const ConvKey& key,
                        const char* direction, const std::function<Tensor(size_t)>& workspace_of,
                        const std::function<cudnnStatus_t(const ConvAlgo<Algo>&, void*)>& call) {
  std::string why = "no candidate";
  while (!candidates.empty()) {
    const ConvAlgo<Algo> a = candidates.front();
    Tensor ws;
    bool allocated = true;
    try {
      ws = workspace_of(a.workspace);
    } catch (const Error& e) {
      allocated = false;
      why = "algorithm " + std::to_string(int(a.algo)) + ": its workspace of " + std::to_string(a.workspace) +
            " bytes: " + e.what();
    }
    if (allocated) {
      const cudnnStatus_t status = call(a, ws.defined() ? ws.data_ptr() : nullptr);
      if (status == CUDNN_STATUS_SUCCESS) return;
      RG_CHECK(worth_another_algorithm(status), "cuDNN ", direction, " convolution (", describe(key), "), algorithm ",
               int(a.algo), ": ", cudnnGetErrorString(status));
      why = "algorithm " + std::to_string(int(a.algo)) + ": " + cudnnGetErrorString(status);
    }
    candidates.erase(candidates.begin());
    ++fallbacks_;
    report_fallback(key, direction, why);
    if (!candidates.empty()) RG_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, candidates.front().math));
  }
  throw Error(std::string("cuDNN ") + direction + " convolution (" + describe(key) +
              "): every algorithm that fits failed at run time (the last, " + why + ")");
}

// The process-wide cache used by the cuDNN convolution kernels (one per device).
ConvPlanCache& conv_plan_cache(Device device);

}  // namespace rg::cuda
