// The per-shape cache of cuDNN convolution plans: descriptors and the algorithm of each direction,
// worked out once per distinct convolution (DenseNet121 has about 66 per batch size, so nothing is
// ever evicted).
//
// A plan's descriptors are made from its key alone. Each direction's algorithm is chosen the
// first time that direction runs, by a Chooser: cudnnGet*Algorithm_v7's heuristics (the default)
// or timing with cudnnFind*AlgorithmEx (ConvSettings::benchmark). Tests give a stand-in chooser
// to check the keying without a GPU.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>

#include "layers/cuda/cudnn_common.h"
#include "layers/geometry.h"

namespace rg::cuda {

// Everything that makes two convolutions different for cuDNN.
struct ConvKey {
  int64_t n, c, h, w, x_batch_stride;  // the input (a channel prefix has a larger batch stride)
  int64_t o, kh, kw, sh, sw, ph, pw, dh, dw;
  DType dtype;
  bool tf32, deterministic;
  auto operator<=>(const ConvKey&) const = default;
};

ConvKey conv_key(const WindowGeometry& g, int64_t x_batch_stride, DType dtype);  // with the current ConvSettings

// One direction's choice: the algorithm, the math type to run it with and its workspace.
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
  TensorDesc bias;      // [1, O, 1, 1]
  // One convolution descriptor per direction: each carries the math type of its own algorithm.
  ConvDesc fwd_conv, data_conv, filter_conv;
  std::optional<FwdAlgo> fwd;
  std::optional<DataAlgo> data;
  std::optional<FilterAlgo> filter;
};

ConvPlan make_conv_plan(const ConvKey& key);  // descriptors only: works without a GPU

// How each direction's algorithm is chosen, given the plan's descriptors.
struct ConvChooser {
  std::function<FwdAlgo(const ConvKey&, const ConvPlan&)> fwd;
  std::function<DataAlgo(const ConvKey&, const ConvPlan&)> data;
  std::function<FilterAlgo(const ConvKey&, const ConvPlan&)> filter;
};
ConvChooser cudnn_chooser(Device device);  // heuristics or timing, as ConvSettings says

class ConvPlanCache {
 public:
  // The plan for `key`, its descriptors made on first use (a miss), afterwards found (a hit).
  ConvPlan& plan(const ConvKey& key);
  // The algorithm of one direction, chosen on its first use by the chooser that `make_chooser`
  // returns (so a hit costs nothing) and set into that direction's descriptor with its math type.
  using MakeChooser = std::function<ConvChooser()>;
  const FwdAlgo& fwd(const ConvKey& key, ConvPlan& plan, const MakeChooser& make_chooser);
  const DataAlgo& data(const ConvKey& key, ConvPlan& plan, const MakeChooser& make_chooser);
  const FilterAlgo& filter(const ConvKey& key, ConvPlan& plan, const MakeChooser& make_chooser);

  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }
  int64_t choices() const { return choices_; }  // algorithms chosen, all directions
  size_t size() const { return plans_.size(); }

 private:
  std::map<ConvKey, ConvPlan> plans_;
  int64_t hits_ = 0, misses_ = 0, choices_ = 0;
};

// The process-wide cache used by the cuDNN convolution kernels (one per device).
ConvPlanCache& conv_plan_cache(Device device);

}  // namespace rg::cuda
