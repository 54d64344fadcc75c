#include "explain/gradcam.h"

#include <algorithm>
#include <cmath>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "tensor/io.h"

namespace rg::explain {

data::GrayImage gradcam_map(const Tensor& activations, const Tensor& gradients, int height, int width) {
  const Tensor a = activations.dim() == 4 ? squeeze(activations, 0) : activations;
  const Tensor g = gradients.dim() == 4 ? squeeze(gradients, 0) : gradients;
  RG_CHECK(a.dim() == 3 && a.shape() == g.shape(),
           "gradcam: expected activations and gradients [C, h, w] of one shape, got ", shape_str(activations.shape()),
           " and ", shape_str(gradients.shape()));
  const int64_t c = a.size(0), h = a.size(1), w = a.size(2);
  const auto av = a.to_vector<double>(), gv = g.to_vector<double>();
  data::GrayImage cam(static_cast<int>(w), static_cast<int>(h));
  for (int64_t k = 0; k < c; ++k) {
    double weight = 0;  // the channel's mean gradient
    for (int64_t i = 0; i < h * w; ++i) weight += gv[k * h * w + i];
    weight /= double(h * w);
    for (int64_t i = 0; i < h * w; ++i) cam.pixels[i] += float(weight * av[k * h * w + i]);
  }
  // The notebook's order: resize the signed map, then ReLU, then scale to a maximum of 1.
  data::GrayImage out = data::resize(cam, width, height);
  for (float& v : out.pixels) v = std::max(v, 0.0f);
  const float top = *std::max_element(out.pixels.begin(), out.pixels.end());
  if (top > 0)
    for (float& v : out.pixels) v /= top;
  return out;
}

GradCam gradcam(DenseNet& model, const Tensor& image, int64_t class_index, const std::string& layer) {
  RG_CHECK(image.dim() == 4 && image.size(0) == 1, "gradcam: expected one image [1, 3, H, W], got ",
           shape_str(image.shape()));
  RG_CHECK(class_index >= 0 && class_index < model.config().num_classes, "gradcam: class ", class_index,
           " is out of range for a model with ", model.config().num_classes, " outputs");
  const auto names = model.tap_names();
  if (std::find(names.begin(), names.end(), layer) == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw Error("gradcam: unknown layer '" + layer + "' (choose from " + known + ")");
  }
  model.eval();
  Taps taps{{layer, Tensor()}};
  const Tensor probs = model.forward(image.to(model.device()), &taps);  // on the model's device
  Tensor activations = taps[layer];
  activations.retain_grad();
  const Tensor p = slice(slice(probs, 0, 0, 1), 1, class_index, class_index + 1);  // [1, 1]
  backward(sum(p));
  const Tensor gradients = activations.grad();
  model.zero_grad();  // the parameters' gradients are a by-product
  RG_CHECK(gradients.defined(), "gradcam: no gradient reached layer ", layer);
  return {gradcam_map(activations.detach(), gradients, int(image.size(2)), int(image.size(3))), p.item()};
}

std::vector<uint8_t> overlay(const data::GrayImage& gray, const data::GrayImage& heat, double alpha) {
  RG_CHECK(gray.width == heat.width && gray.height == heat.height, "overlay: image ", gray.width, "x", gray.height,
           " and heat map ", heat.width, "x", heat.height, " differ in size");
  // matplotlib's "jet": blue -> cyan -> yellow -> red.
  auto jet = [](double x, double centre) { return std::clamp(1.5 - std::abs(4 * x - centre), 0.0, 1.0); };
  std::vector<uint8_t> rgb(gray.pixels.size() * 3);
  for (size_t i = 0; i < gray.pixels.size(); ++i) {
    const double g = std::clamp(double(gray.pixels[i]), 0.0, 255.0), h = std::clamp(double(heat.pixels[i]), 0.0, 1.0);
    const double color[3] = {jet(h, 3), jet(h, 2), jet(h, 1)};
    for (int c = 0; c < 3; ++c) rgb[3 * i + c] = uint8_t(std::lround((1 - alpha) * g + alpha * 255.0 * color[c]));
  }
  return rgb;
}

void write_overlay_png(const std::string& path, const data::GrayImage& gray, const data::GrayImage& heat,
                       double alpha) {
  write_file_atomic(path, data::encode_png(overlay(gray, heat, alpha), gray.width, gray.height, 3));
}

void write_npy(const std::string& path, const data::GrayImage& map) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(map.height) + ", " +
                       std::to_string(map.width) + "), }";
  // magic (6) + version (2) + header length (2) + header + '\n' is a multiple of 64.
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += char(header.size() & 0xFF);
  bytes += char(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(map.pixels.data()), map.pixels.size() * sizeof(float));
  write_file_atomic(path, bytes);
}

}  // namespace rg::explain
