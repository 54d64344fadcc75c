#include "data/augment.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace rg::data {

GrayImage flip_horizontal(const GrayImage& image) {
  GrayImage out(image.width, image.height);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) out.at(x, y) = image.at(image.width - 1 - x, y);
  return out;
}

namespace {

// Bilinear sample at continuous pixel-centre coordinates (x, y), edges repeated.
float sample_bilinear(const GrayImage& image, double x, double y) {
  x = std::clamp(x, 0.0, double(image.width - 1));
  y = std::clamp(y, 0.0, double(image.height - 1));
  const int x0 = int(x), y0 = int(y);
  const int x1 = std::min(x0 + 1, image.width - 1), y1 = std::min(y0 + 1, image.height - 1);
  const float fx = float(x - x0), fy = float(y - y0);
  const float top = image.at(x0, y0) * (1 - fx) + image.at(x1, y0) * fx;
  const float bottom = image.at(x0, y1) * (1 - fx) + image.at(x1, y1) * fx;
  return top * (1 - fy) + bottom * fy;
}

// Rotation by `angle` radians and scaling by `zoom` about the centre, then a shift (dx, dy).
GrayImage affine(const GrayImage& image, double angle, double zoom, double dx, double dy) {
  GrayImage out(image.width, image.height);
  const double cx = (image.width - 1) / 2.0, cy = (image.height - 1) / 2.0;
  const double c = std::cos(angle), s = std::sin(angle);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      // Where in the source does output pixel (x, y) come from? Undo shift, rotation, zoom.
      const double px = x - cx - dx, py = y - cy - dy;
      const double sx = (c * px + s * py) / zoom + cx, sy = (-s * px + c * py) / zoom + cy;
      out.at(x, y) = sample_bilinear(image, sx, sy);
    }
  return out;
}

}  // namespace

GrayImage augment(const GrayImage& image, const AugmentOptions& o, Generator& gen) {
  // Always draw the same seven numbers, so turning one option on does not change the others.
  const uint64_t first = gen.advance(7);
  auto uniform = [&](int k) { return double(gen.bits(first + k) >> 11) * 0x1.0p-53; };  // [0, 1)
  auto symmetric = [&](int k, double max) { return (2.0 * uniform(k) - 1.0) * max; };   // [-max, max)

  GrayImage out = image;
  if (o.horizontal_flip && uniform(0) < 0.5) out = flip_horizontal(out);
  const double angle = symmetric(1, o.max_rotation_deg) * std::numbers::pi / 180.0;
  const double dx = symmetric(2, o.max_translation) * image.width;
  const double dy = symmetric(3, o.max_translation) * image.height;
  const double zoom = 1.0 + symmetric(4, o.max_zoom);
  if (angle != 0 || dx != 0 || dy != 0 || zoom != 1.0) out = affine(out, angle, zoom, dx, dy);
  const double brightness = symmetric(5, o.max_brightness) * 255.0;
  const double contrast = 1.0 + symmetric(6, o.max_contrast);
  if (brightness != 0 || contrast != 1.0) {
    double mean = 0;
    for (float v : out.pixels) mean += v;
    mean /= double(out.pixels.size());
    for (float& v : out.pixels) v = float(std::clamp((v - mean) * contrast + mean + brightness, 0.0, 255.0));
  }
  return out;
}

}  // namespace rg::data
