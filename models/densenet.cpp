#include "models/densenet.h"

#include "autograd/checkpoint.h"
#include "autograd/ops.h"
#include "layers/concat_buffer.h"
#include "layers/pooling.h"

namespace rg {

DenseNetConfig DenseNetConfig::by_name(const std::string& name, int64_t classes) {
  if (name == "densenet121") return densenet121(classes);
  if (name == "densenet121-se") return densenet121_se(classes);
  if (name == "densenet169") return densenet169(classes);
  if (name == "densenet201") return densenet201(classes);
  throw Error("unknown architecture '" + name + "' (expected densenet121, densenet121-se, densenet169 or densenet201)");
}

int64_t DenseNetConfig::num_features() const {
  int64_t c = init_features;
  for (size_t b = 0; b < blocks.size(); ++b) {
    c += blocks[b] * growth;
    if (b + 1 < blocks.size()) c /= 2;
  }
  return c;
}

DenseLayer::DenseLayer(int64_t in, const DenseNetConfig& config, Generator& gen)
    : memory_efficient(config.memory_efficient), drop_rate(config.drop_rate) {
  const int64_t mid = config.bn_size * config.growth;
  norm1 = register_module("norm1", std::make_shared<BatchNorm2d>(in, config.bn_eps));
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in, mid, 1, Conv2dOptions{}, false, gen));
  norm2 = register_module("norm2", std::make_shared<BatchNorm2d>(mid, config.bn_eps));
  conv2 = register_module("conv2",
                          std::make_shared<Conv2d>(mid, config.growth, 3, Conv2dOptions{.padding = 1}, false, gen));
}

namespace {

// The stem's max pool and the transitions' average pool: window, stride, padding.
constexpr int64_t kStemPool[3] = {3, 2, 1}, kTransitionPool[3] = {2, 2, 0};

int64_t pooled(int64_t size, const int64_t (&pool)[3]) {
  return window_output_size(size, pool[0], pool[1], pool[2], 1);
}

// 2 FLOPs per multiply-add of `conv` over an [h, w] input; h and w become its output's size.
double conv_flops(const Conv2d& conv, int64_t& h, int64_t& w) {
  const Shape& k = conv.weight.shape();  // [O, C, KH, KW]
  const Conv2dOptions& o = conv.options;
  h = window_output_size(h, k[2], o.stride, o.padding, o.dilation);
  w = window_output_size(w, k[3], o.stride, o.padding, o.dilation);
  return 2.0 * double(conv.weight.numel()) * double(h * w);
}

double linear_flops(const Linear& linear) { return 2.0 * double(linear.weight.numel()); }

}  // namespace

double DenseLayer::flops(int64_t h, int64_t w) const { return conv_flops(*conv1, h, w) + conv_flops(*conv2, h, w); }

Tensor DenseLayer::bottleneck(const Tensor& x) { return conv1->forward(norm1->forward_relu(x)); }

Tensor DenseLayer::forward(const Tensor& x) {
  // The bottleneck's two intermediate results are as wide as all the block's features so far:
  // with memory_efficient, the backward recomputes them instead of keeping them.
  Tensor h = memory_efficient
                 ? autograd::checkpoint([this](const std::vector<Tensor>& in) { return bottleneck(in[0]); }, {x})
                 : bottleneck(x);                     // [N, bn_size * growth, H, W]
  Tensor y = conv2->forward(norm2->forward_relu(h));  // [N, growth, H, W]
  return dropout(y, drop_rate, is_training());
}

DenseBlock::DenseBlock(int64_t layers, int64_t in, const DenseNetConfig& config, Generator& gen)
    : in_(in), growth_(config.growth) {
  for (int64_t l = 0; l < layers; ++l)
    layers_.push_back(register_module("denselayer" + std::to_string(l + 1),
                                      std::make_shared<DenseLayer>(in + l * config.growth, config, gen)));
}

Tensor DenseBlock::forward(const Tensor& x) {
  ConcatBuffer features(x.size(0), in_ + int64_t(layers_.size()) * growth_, x.size(2), x.size(3), x.dtype(),
                        x.device());
  features.append(x);
  for (auto& layer : layers_) features.append(layer->forward(features.view()));
  return features.view();
}

Transition::Transition(int64_t in, int64_t out, double bn_eps, Generator& gen) {
  norm = register_module("norm", std::make_shared<BatchNorm2d>(in, bn_eps));
  conv = register_module("conv", std::make_shared<Conv2d>(in, out, 1, Conv2dOptions{}, false, gen));
}

Tensor Transition::forward(const Tensor& x) {
  return avg_pool2d(conv->forward(norm->forward_relu(x)), kTransitionPool[0], kTransitionPool[1], kTransitionPool[2]);
}

double Transition::flops(int64_t& h, int64_t& w) const {
  const double f = conv_flops(*conv, h, w);
  h = pooled(h, kTransitionPool);
  w = pooled(w, kTransitionPool);
  return f;
}

DenseNetFeatures::DenseNetFeatures(const DenseNetConfig& config, Generator& gen) {
  conv0 = register_module("conv0", std::make_shared<Conv2d>(3, config.init_features, 7,
                                                            Conv2dOptions{.stride = 2, .padding = 3}, false, gen));
  norm0 = register_module("norm0", std::make_shared<BatchNorm2d>(config.init_features, config.bn_eps));
  int64_t channels = config.init_features;
  for (size_t b = 0; b < config.blocks.size(); ++b) {
    const std::string n = std::to_string(b + 1);
    blocks_.push_back(
        register_module("denseblock" + n, std::make_shared<DenseBlock>(config.blocks[b], channels, config, gen)));
    channels += config.blocks[b] * config.growth;
    if (config.se_reduction > 0)
      squeeze_excites_.push_back(
          register_module("se" + n, std::make_shared<SqueezeExcite>(channels, config.se_reduction, gen)));
    if (b + 1 < config.blocks.size()) {
      transitions_.push_back(
          register_module("transition" + n, std::make_shared<Transition>(channels, channels / 2, config.bn_eps, gen)));
      channels /= 2;
    }
  }
  norm5 = register_module("norm5", std::make_shared<BatchNorm2d>(channels, config.bn_eps));
}

Tensor DenseNetFeatures::forward(const Tensor& x, Taps* taps) {
  auto tap = [&](const std::string& name, const Tensor& t) {
    if (taps && taps->count(name)) (*taps)[name] = t;
    return t;
  };
  Tensor h = tap("features.conv0", conv0->forward(x));
  h = tap("features.norm0", norm0->forward(h));
  h = max_pool2d(relu(h), kStemPool[0], kStemPool[1], kStemPool[2]);  // [N, 64, H/4, W/4]
  for (size_t b = 0; b < blocks_.size(); ++b) {
    h = tap("features.denseblock" + std::to_string(b + 1), blocks_[b]->forward(h));
    if (b < squeeze_excites_.size()) h = tap("features.se" + std::to_string(b + 1), squeeze_excites_[b]->forward(h));
    if (b < transitions_.size()) h = tap("features.transition" + std::to_string(b + 1), transitions_[b]->forward(h));
  }
  return tap("features.norm5", norm5->forward(h));
}

double DenseNetFeatures::flops(int64_t h, int64_t w) const {
  double f = conv_flops(*conv0, h, w);
  h = pooled(h, kStemPool);
  w = pooled(w, kStemPool);
  for (size_t b = 0; b < blocks_.size(); ++b) {
    for (const auto& layer : blocks_[b]->layers()) f += layer->flops(h, w);
    if (b < squeeze_excites_.size())
      f += linear_flops(*squeeze_excites_[b]->fc1) + linear_flops(*squeeze_excites_[b]->fc2);
    if (b < transitions_.size()) f += transitions_[b]->flops(h, w);
  }
  return f;
}

void DenseNetFeatures::set_memory_efficient(bool on) {
  for (auto& block : blocks_)
    for (auto& layer : block->layers()) layer->memory_efficient = on;
}

std::vector<std::string> DenseNetFeatures::tap_names() const {
  std::vector<std::string> names{"features.conv0", "features.norm0"};
  for (size_t b = 0; b < blocks_.size(); ++b) {
    names.push_back("features.denseblock" + std::to_string(b + 1));
    if (b < squeeze_excites_.size()) names.push_back("features.se" + std::to_string(b + 1));
    if (b < transitions_.size()) names.push_back("features.transition" + std::to_string(b + 1));
  }
  names.push_back("features.norm5");
  return names;
}

DenseNet::DenseNet(const DenseNetConfig& config, Generator& gen) : config_(config) {
  features_ = register_module("features", std::make_shared<DenseNetFeatures>(config, gen));
  classifier = register_module("classifier", std::make_shared<Linear>(config.num_features(), config.num_classes, gen));
}

Tensor DenseNet::logits(const Tensor& x, Taps* taps) {
  RG_CHECK(x.dim() == 4 && x.size(1) == 3, config_.name, ": expected images [N, 3, H, W], got ", shape_str(x.shape()));
  const Tensor features = relu(features_->forward(x, taps));  // [N, num_features, H/32, W/32]
  return classifier->forward(global_avg_pool2d(features));    // [N, num_classes]
}

Tensor DenseNet::forward(const Tensor& x, Taps* taps) { return sigmoid(logits(x, taps)); }

double DenseNet::forward_flops(int64_t image_size) const {
  return features_->flops(image_size, image_size) + linear_flops(*classifier);
}

}  // namespace rg
