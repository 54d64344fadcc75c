// DenseNet (Huang et al., 2017) in torchvision's structure and names, so that a torchvision
// state dict loads one to one:
//
//   features.conv0      7x7 conv, stride 2, 64 filters      features.norm0, relu, 3x3 max pool /2
//   features.denseblock1..4, each of L dense layers:         features.transition1..3 between them:
//     denselayerL.norm1 -> relu -> conv1 (1x1, bn_size*growth)   norm -> relu -> conv (1x1, half
//     denselayerL.norm2 -> relu -> conv2 (3x3, growth)            the channels) -> 2x2 avg pool /2
//   features.norm5 -> relu -> global average pool -> classifier (Linear) -> sigmoid
//
// DenseNet-121: growth 32, blocks 6-12-24-16, 64 initial features, bn_size 4, 1024 features out.
// DenseNet-121-SE (ours, the worked example of docs/extending.md): the same, with a
// squeeze-and-excitation module (layers/squeeze_excite.h, reduction 16) after each dense block,
// named features.se1 .. features.se4.
// A dense block keeps its growing concatenation in one ConcatBuffer (layers/concat_buffer.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "layers/modules.h"
#include "layers/squeeze_excite.h"
#include "models/classifier.h"

namespace rg {

// Intermediate outputs a forward pass can hand out, by module name ("features.norm5",
// "features.denseblock4", ...), e.g. for Grad-CAM. Only the names asked for are filled in.
using Taps = std::map<std::string, Tensor>;

struct DenseNetConfig {
  std::string name = "densenet121";
  int64_t growth = 32;
  std::vector<int64_t> blocks = {6, 12, 24, 16};
  int64_t init_features = 64;
  int64_t bn_size = 4;
  double drop_rate = 0.0;
  int64_t num_classes = 14;
  double bn_eps = 1e-5;
  int64_t se_reduction = 0;  // > 0: a SqueezeExcite of this reduction after each dense block
  // Recompute each dense layer's bottleneck (norm1 -> relu -> conv1) in the backward instead of
  // keeping it (autograd/checkpoint.h): training memory grows linearly with depth, not
  // quadratically, for about a fifth more compute. No effect on inference or on the results.
  bool memory_efficient = true;

  // torchvision's configurations (growth 32, 64 initial features, bottleneck 4x), by name.
  static DenseNetConfig densenet121(int64_t classes = 14) {
    return {.name = "densenet121", .blocks = {6, 12, 24, 16}, .num_classes = classes};
  }
  static DenseNetConfig densenet121_se(int64_t classes = 14) {
    return {.name = "densenet121-se", .blocks = {6, 12, 24, 16}, .num_classes = classes, .se_reduction = 16};
  }
  static DenseNetConfig densenet169(int64_t classes = 14) {
    return {.name = "densenet169", .blocks = {6, 12, 32, 32}, .num_classes = classes};
  }
  static DenseNetConfig densenet201(int64_t classes = 14) {
    return {.name = "densenet201", .blocks = {6, 12, 48, 32}, .num_classes = classes};
  }
  // The configuration called `name` ("densenet121", "densenet121-se", ...); throws for an unknown name.
  static DenseNetConfig by_name(const std::string& name, int64_t classes);
  int64_t num_features() const;  // channels entering the classifier
};

class DenseLayer : public Module {
 public:
  DenseLayer(int64_t in, const DenseNetConfig& config, Generator& gen);
  Tensor forward(const Tensor& x);           // [N, in, H, W] (a view of the block's buffer) -> [N, growth, H, W]
  double flops(int64_t h, int64_t w) const;  // its convolutions' FLOPs for one image at [h, w]
  bool memory_efficient;

 private:
  Tensor bottleneck(const Tensor& x);  // norm1 -> relu -> conv1: [N, in, H, W] -> [N, bn_size * growth, H, W]
  std::shared_ptr<BatchNorm2d> norm1, norm2;
  std::shared_ptr<Conv2d> conv1, conv2;
  double drop_rate;
};

class DenseBlock : public Module {
 public:
  DenseBlock(int64_t layers, int64_t in, const DenseNetConfig& config, Generator& gen);
  Tensor forward(const Tensor& x);  // [N, in, H, W] -> [N, in + layers * growth, H, W]
  const std::vector<std::shared_ptr<DenseLayer>>& layers() const { return layers_; }

 private:
  std::vector<std::shared_ptr<DenseLayer>> layers_;
  int64_t in_, growth_;
};

class Transition : public Module {
 public:
  Transition(int64_t in, int64_t out, double bn_eps, Generator& gen);
  Tensor forward(const Tensor& x);             // [N, in, H, W] -> [N, out, H/2, W/2]
  double flops(int64_t& h, int64_t& w) const;  // at [h, w]; h and w become its output's size

 private:
  std::shared_ptr<BatchNorm2d> norm;
  std::shared_ptr<Conv2d> conv;
};

// The convolutional part: everything up to and including norm5.
class DenseNetFeatures : public Module {
 public:
  DenseNetFeatures(const DenseNetConfig& config, Generator& gen);
  // [N, 3, H, W] -> [N, num_features, H/32, W/32] (norm5's output, before its ReLU). Fills in
  // the requested entries of `taps`.
  Tensor forward(const Tensor& x, Taps* taps = nullptr);
  // The names forward() can tap, input to output.
  std::vector<std::string> tap_names() const;
  void set_memory_efficient(bool on);        // DenseNetConfig::memory_efficient, for every dense layer
  double flops(int64_t h, int64_t w) const;  // for one image [3, h, w]

 private:
  std::shared_ptr<Conv2d> conv0;
  std::shared_ptr<BatchNorm2d> norm0, norm5;
  std::vector<std::shared_ptr<DenseBlock>> blocks_;
  std::vector<std::shared_ptr<SqueezeExcite>> squeeze_excites_;  // one per block, or none
  std::vector<std::shared_ptr<Transition>> transitions_;
};

class DenseNet : public Classifier {
 public:
  explicit DenseNet(const DenseNetConfig& config, Generator& gen = default_generator());

  // Class scores before the sigmoid: [N, 3, H, W] -> [N, num_classes]. `taps`: as in
  // DenseNetFeatures::forward.
  Tensor logits(const Tensor& x, Taps* taps);
  Tensor logits(const Tensor& x) override { return logits(x, nullptr); }
  int64_t num_classes() const override { return config_.num_classes; }
  // Probabilities: sigmoid(logits), [N, num_classes].
  Tensor forward(const Tensor& x, Taps* taps = nullptr);
  std::vector<std::string> tap_names() const { return features_->tap_names(); }
  // The forward pass's FLOPs for one image of image_size x image_size (2 per multiply-add),
  // counted from the model's own layers: every convolution, the SE modules' and the classifier's
  // matrix products (batch norm, pooling and the activations add about 1% more and are left out).
  double forward_flops(int64_t image_size) const;
  void set_memory_efficient(bool on) { features_->set_memory_efficient(on); }

  const DenseNetConfig& config() const { return config_; }
  std::shared_ptr<Linear> classifier;

 private:
  DenseNetConfig config_;
  std::shared_ptr<DenseNetFeatures> features_;
};

}  // namespace rg
