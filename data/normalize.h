// Normalization: how a gray image becomes the model's 3-channel input. One object, used the same
// way in training, evaluation, prediction and Grad-CAM, and saved with the model.
//
//   sample   — per image: x = (p - mean(p)) / (std(p) + 1e-6)        (the notebook's training
//              generator, Keras' samplewise_center + samplewise_std_normalization)
//   dataset  — x = (p - mean) / (std + 1e-6) with mean and std measured once on a seeded random
//              sample of training images (the notebook's valid/test generator, Keras'
//              featurewise_center + featurewise_std_normalization); the numbers are recorded
//   imagenet — x_c = (p / 255 - mean_c) / std_c with ImageNet's per-channel mean and std, for
//              weights pretrained on ImageNet with that preprocessing (torchvision's)
// p is the pixel on the 0..255 scale; std is the population standard deviation (NumPy's).
// The gray channel is repeated into 3 channels.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "data/image.h"
#include "data/image_source.h"
#include "data/labels.h"
#include "tensor/tensor.h"

namespace rg::data {

struct Normalization {
  enum class Kind { Sample, Dataset, ImageNet };
  Kind kind = Kind::Sample;
  // Dataset: the statistics and how they were measured.
  double mean = 0.0, std = 1.0;
  int64_t sample_size = 0;
  uint64_t sample_seed = 0;

  static Normalization sample() { return {}; }
  static Normalization dataset(double mean, double std);
  static Normalization imagenet() { return {Kind::ImageNet}; }

  // Writes the normalized image as 3 identical-up-to-ImageNet-scaling planes: out[3][H][W].
  void apply(const GrayImage& image, float* out) const;

  // "sample", "dataset mean=... std=... (N images, seed S)", "imagenet"
  std::string describe() const;
  // The model file's spelling: "sample", "imagenet" or "dataset:<mean>,<std>".
  std::string spec() const;
  static Normalization from_spec(const std::string& spec);
  // JSON for saving with a model: {"kind":"dataset","mean":..,"std":..,...}
  std::string to_json() const;
  static Normalization from_json(const std::string& json);
};

inline constexpr std::array<double, 3> kImageNetMean = {0.485, 0.456, 0.406};
inline constexpr std::array<double, 3> kImageNetStd = {0.229, 0.224, 0.225};

// One image as the model's input: [1, 3, H, W] float32 (`image` already at the model's size).
Tensor image_tensor(const GrayImage& image, const Normalization& normalization);

// Measures mean and std over all pixels of `count` training images drawn at random (seeded,
// without replacement), each loaded at width x height first.
Normalization measure_dataset_normalization(const LabelTable& train, const ImageSource& images, int width, int height,
                                            int64_t count = 100, uint64_t seed = 0);

}  // namespace rg::data
