// Gray images: decoding PNG (libspng), JPEG (TurboJPEG) and DICOM (GDCM: data/dicom.h), resizing,
// and writing PNG (stb_image_write).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rg::data {

// One gray channel, row-major, values on the 0..255 scale as float (16-bit files are scaled
// down by 257, so 65535 -> 255).
struct GrayImage {
  int width = 0, height = 0;
  std::vector<float> pixels;  // [height, width]

  GrayImage() = default;
  GrayImage(int w, int h, float fill = 0.0f) : width(w), height(h), pixels(size_t(w) * h, fill) {}
  float& at(int x, int y) { return pixels[size_t(y) * width + x]; }
  float at(int x, int y) const { return pixels[size_t(y) * width + x]; }
};

// What a decoder accepts: an image whose header declares more pixels than `max_pixels` is refused
// before decoding (the CLI's --max-image-pixels sets it). Set once at start-up, before threads.
struct ImageLimits {
  uint64_t max_pixels = uint64_t(1) << 28;
};
ImageLimits& image_limits();

// Decodes a PNG or JPEG file of any of the layouts NIH uses — 8/16-bit gray, gray+alpha, RGB,
// RGBA — into one gray channel (color: ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B, as PIL's
// convert("L"); alpha is ignored), or a DICOM radiograph into the gray image a viewer shows
// (data/dicom.h). Throws rg::Error naming the file when it is missing, unreadable, truncated,
// corrupt or over the size limit.
GrayImage decode_image(const std::string& path);
GrayImage decode_image_bytes(const std::string& bytes, const std::string& name);
// Whether a file's first kSignatureBytes are a PNG's, a JPEG's or a DICOM's signature (DICOM's:
// "DICM" after a 128-byte preamble): what decode_image goes by, never the file's extension.
inline constexpr size_t kSignatureBytes = 132;
bool looks_like_image(const std::string& first_bytes);

// Resizes each axis on its own: area averaging when shrinking (every source pixel counts with
// the fraction of it an output pixel covers, as OpenCV's INTER_AREA), bilinear interpolation with
// half-pixel centres when enlarging (as OpenCV's INTER_LINEAR), a copy when equal.
GrayImage resize(const GrayImage& image, int width, int height);

// The model's input image: `image` resized to width x height and rounded to whole gray levels
// 0..255 (as PIL's resize of an 8-bit image, the notebook's, returns them). Every image the
// loader gives passes through here once, from a folder of files or, stored, from a pack
// (data/pack.h), so both give the same pixels.
GrayImage resize_rounded(const GrayImage& image, int width, int height);

// The image's pixels rounded to whole gray levels and clamped to 0..255, row by row.
std::vector<uint8_t> gray_levels(const GrayImage& image);
// Writes an 8-bit gray PNG (values rounded and clamped to 0..255), atomically.
void write_png(const std::string& path, const GrayImage& image);
// Encodes an 8-bit gray JPEG into bytes (quality 1..100); for tests and synthetic data.
std::string encode_jpeg(const GrayImage& image, int quality = 90);
// Encodes a PNG with `channels` (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) from raw 8-bit samples.
std::string encode_png(const std::vector<uint8_t>& samples, int width, int height, int channels);
// Encodes a 16-bit gray PNG (as PadChest's) from raw samples, row by row.
std::string encode_png16(const std::vector<uint16_t>& samples, int width, int height);

}  // namespace rg::data
