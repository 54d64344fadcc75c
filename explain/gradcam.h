// Grad-CAM (Selvaraju et al., 2017), as the notebook's compute_gradcam: where in the image does
// the model look when it scores one class?
//
//   A = the activations of a layer (default features.norm5, before its ReLU)   [C, h, w]
//   G = d p_class / d A, with the model in inference mode (running BN statistics)
//   w_c = mean over (i, j) of G[c, i, j]                    (how much channel c matters)
//   cam = sum_c w_c A[c], resized to the image (bilinear, half-pixel centres), then ReLU,
//         then divided by its maximum (an all-zero map stays zero) — in this order
#pragma once

#include <string>
#include <vector>

#include "data/image.h"
#include "models/densenet.h"

namespace rg::explain {

// The map from activations and gradients (both [C, h, w], or [1, C, h, w]) at height x width.
data::GrayImage gradcam_map(const Tensor& activations, const Tensor& gradients, int height, int width);

struct GradCam {
  data::GrayImage heat;  // [H, W], values in [0, 1]
  double probability;    // the model's output for the class
};

// image: [1, 3, H, W], normalized as the model expects. Puts the model in eval mode.
GradCam gradcam(DenseNet& model, const Tensor& image, int64_t class_index, const std::string& layer = "features.norm5");

// The gray image (0..255) with the heat map over it in the jet colormap at opacity `alpha`
// (the notebook uses min(0.5, probability)): RGB samples, row-major.
std::vector<uint8_t> overlay(const data::GrayImage& gray, const data::GrayImage& heat, double alpha);
void write_overlay_png(const std::string& path, const data::GrayImage& gray, const data::GrayImage& heat, double alpha);

// A float32 [H, W] NumPy .npy file (format version 1.0), written atomically.
void write_npy(const std::string& path, const data::GrayImage& map);

}  // namespace rg::explain
