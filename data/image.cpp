#include "data/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "tensor/io.h"
#include "tensor/error.h"

namespace rg::data {

namespace {

// JPEG decoders (stb's included) fill a cut-off file with gray instead of failing, so a JPEG
// must end with its End-Of-Image marker (FF D9), allowing a little padding after it.
bool jpeg_has_end_marker(const std::string& bytes) {
  const size_t from = bytes.size() > 64 ? bytes.size() - 64 : 0;
  for (size_t i = bytes.size(); i-- > from + 1;)
    if (uint8_t(bytes[i - 1]) == 0xFF && uint8_t(bytes[i]) == 0xD9) return true;
  return false;
}

bool is_jpeg(const std::string& bytes) {
  return bytes.size() >= 3 && uint8_t(bytes[0]) == 0xFF && uint8_t(bytes[1]) == 0xD8 && uint8_t(bytes[2]) == 0xFF;
}

// A PNG ends with an IEND chunk; stb_image stops once it has the pixels and would accept a file
// cut off after the image data, so we check the end is there.
bool is_png(const std::string& bytes) { return bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0; }
bool png_has_end(const std::string& bytes) {
  return bytes.size() >= 12 && bytes.compare(bytes.size() - 8, 4, "IEND") == 0;
}

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}

// Weights of one output pixel along one axis: source index `first` onwards, one weight each.
struct Taps {
  int first = 0;
  std::vector<float> weights;
};

std::vector<Taps> axis_taps(int in, int out) {
  std::vector<Taps> taps(out);
  const double scale = double(in) / double(out);
  for (int o = 0; o < out; ++o) {
    Taps& t = taps[o];
    if (in > out) {
      // Area: output pixel o covers source [o * scale, (o + 1) * scale).
      const double lo = o * scale, hi = (o + 1) * scale;
      t.first = int(std::floor(lo));
      for (int s = t.first; s < in && s < hi; ++s) {
        const double overlap = std::min(hi, double(s + 1)) - std::max(lo, double(s));
        t.weights.push_back(float(overlap / scale));
      }
    } else if (in < out) {
      // Bilinear with half-pixel centres; beyond the edges the edge pixel repeats.
      const double src = (o + 0.5) * scale - 0.5;
      const int left = int(std::floor(src));
      const float frac = float(src - left);
      const int a = std::clamp(left, 0, in - 1), b = std::clamp(left + 1, 0, in - 1);
      t.first = std::min(a, b);
      if (a == b) t.weights = {1.0f};
      else t.weights = {1.0f - frac, frac};
    } else {
      t.first = o;
      t.weights = {1.0f};
    }
  }
  return taps;
}

}  // namespace

GrayImage decode_image_bytes(const std::string& bytes, const std::string& name) {
  RG_CHECK(!bytes.empty(), name, ": empty file (expected a PNG or JPEG image)");
  const bool jpeg = is_jpeg(bytes), png = is_png(bytes);
  RG_CHECK(jpeg || png, name, ": not a PNG or JPEG file (unrecognized first bytes)");
  RG_CHECK(!jpeg || jpeg_has_end_marker(bytes), name, ": truncated JPEG (no end-of-image marker)");
  RG_CHECK(!png || png_has_end(bytes), name, ": truncated PNG (no IEND chunk at the end)");

  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = int(bytes.size());
  int w = 0, h = 0, channels = 0;
  GrayImage image;
  auto to_gray = [&](const auto* samples, float scale) {
    image = GrayImage(w, h);
    for (size_t i = 0; i < image.pixels.size(); ++i) {
      const auto* p = samples + i * channels;
      const float v = channels >= 3 ? 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] : float(p[0]);
      image.pixels[i] = v * scale;
    }
  };
  if (stbi_is_16_bit_from_memory(data, size)) {
    std::unique_ptr<stbi_us, void (*)(void*)> samples(stbi_load_16_from_memory(data, size, &w, &h, &channels, 0),
                                                     stbi_image_free);
    RG_CHECK(samples != nullptr, name, ": corrupt image: ", stbi_failure_reason());
    to_gray(samples.get(), 1.0f / 257.0f);
  } else {
    std::unique_ptr<stbi_uc, void (*)(void*)> samples(stbi_load_from_memory(data, size, &w, &h, &channels, 0),
                                                     stbi_image_free);
    RG_CHECK(samples != nullptr, name, ": corrupt image: ", stbi_failure_reason());
    to_gray(samples.get(), 1.0f);
  }
  return image;
}

GrayImage decode_image(const std::string& path) {
  std::string bytes;
  try {
    bytes = read_file(path);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (image file)");
  }
  return decode_image_bytes(bytes, path);
}

GrayImage resize(const GrayImage& image, int width, int height) {
  RG_CHECK(width > 0 && height > 0, "resize: target size must be positive, got ", width, "x", height);
  RG_CHECK(image.width > 0 && image.height > 0, "resize: empty source image");
  if (width == image.width && height == image.height) return image;
  const auto tx = axis_taps(image.width, width), ty = axis_taps(image.height, height);
  // Rows first (width), then columns (height).
  GrayImage rows(width, image.height);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < width; ++x) {
      float acc = 0;
      for (size_t k = 0; k < tx[x].weights.size(); ++k) acc += tx[x].weights[k] * image.at(tx[x].first + int(k), y);
      rows.at(x, y) = acc;
    }
  GrayImage out(width, height);
  for (int y = 0; y < height; ++y)
    for (size_t k = 0; k < ty[y].weights.size(); ++k) {
      const float w = ty[y].weights[k];
      const float* src = &rows.pixels[size_t(ty[y].first + int(k)) * width];
      float* dst = &out.pixels[size_t(y) * width];
      for (int x = 0; x < width; ++x) dst[x] += w * src[x];
    }
  return out;
}

std::string encode_png(const std::vector<uint8_t>& samples, int width, int height, int channels) {
  RG_CHECK(samples.size() == size_t(width) * height * channels, "encode_png: expected ",
           size_t(width) * height * channels, " samples, got ", samples.size());
  std::string bytes;
  RG_CHECK(stbi_write_png_to_func(append_bytes, &bytes, width, height, channels, samples.data(), width * channels),
           "encode_png: stb_image_write failed");
  return bytes;
}

namespace {
std::vector<uint8_t> to_bytes(const GrayImage& image) {
  std::vector<uint8_t> samples(image.pixels.size());
  for (size_t i = 0; i < samples.size(); ++i)
    samples[i] = uint8_t(std::clamp(std::lround(image.pixels[i]), 0l, 255l));
  return samples;
}
}  // namespace

void write_png(const std::string& path, const GrayImage& image) {
  write_file_atomic(path, encode_png(to_bytes(image), image.width, image.height, 1));
}

std::string encode_jpeg(const GrayImage& image, int quality) {
  std::string bytes;
  RG_CHECK(stbi_write_jpg_to_func(append_bytes, &bytes, image.width, image.height, 1, to_bytes(image).data(), quality),
           "encode_jpeg: stb_image_write failed");
  return bytes;
}

}  // namespace rg::data
