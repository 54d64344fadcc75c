#include "data/image.h"

#include <spng.h>
#include <stb_image_write.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "data/dicom.h"
#include "data/dicom_file.h"
#include "tensor/io.h"
#include "tensor/error.h"

namespace rg::data {

ImageLimits& image_limits() {
  static ImageLimits limits;
  return limits;
}

namespace {

bool is_jpeg(const std::string& bytes) {
  return bytes.size() >= 3 && uint8_t(bytes[0]) == 0xFF && uint8_t(bytes[1]) == 0xD8 && uint8_t(bytes[2]) == 0xFF;
}
bool is_png(const std::string& bytes) { return bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0; }

// The size a file's header declares, refused before any pixel is decoded when it is over the
// limit: a small file can declare 30000x30000 pixels (a "decompression bomb").
void check_declared_size(uint64_t width, uint64_t height, const std::string& name) {
  RG_CHECK(width > 0 && height > 0, name, ": the header declares an empty image (", width, "x", height, ")");
  const uint64_t limit = image_limits().max_pixels;
  RG_CHECK(width * height <= limit, name, ": the header declares ", width, "x", height, " = ", width * height,
           " pixels, more than the limit of ", limit, " (raise it with --max-image-pixels)");
}

// One gray channel from interleaved samples (color: ITU-R 601 luma, as PIL's convert("L")).
template <typename Sample>
GrayImage to_gray(const Sample* samples, int width, int height, int channels, float scale) {
  GrayImage image(width, height);
  for (size_t i = 0; i < image.pixels.size(); ++i) {
    const Sample* p = samples + i * channels;
    const float v = channels >= 3 ? 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] : float(p[0]);
    image.pixels[i] = v * scale;
  }
  return image;
}

// PNG through libspng: every layout (gray/RGB/palette, with or without alpha, 1-16 bits). A CRC or
// zlib error, or a file cut off before its IEND chunk, is an error; bytes after IEND are ignored.
GrayImage decode_png(const std::string& bytes, const std::string& name) {
  std::unique_ptr<spng_ctx, void (*)(spng_ctx*)> ctx(spng_ctx_new(0), spng_ctx_free);
  RG_CHECK(ctx != nullptr, name, ": out of memory starting the PNG decoder");
  auto check = [&](int status, const char* what) {
    const bool cut = status == SPNG_IO_EOF || status == SPNG_EIO || status == SPNG_EOF;
    RG_CHECK(!cut, name, ": truncated PNG (the file ends inside the ", what, ")");
    RG_CHECK(status == 0, name, ": corrupt PNG (", what, ": ", spng_strerror(status), ")");
  };
  check(spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size()), "reading");
  // Ancillary chunks (text, ICC profiles) are capped at 8 MB each and 64 MB in all.
  check(spng_set_chunk_limits(ctx.get(), size_t(8) << 20, size_t(64) << 20), "chunk limits");
  spng_ihdr header{};
  check(spng_get_ihdr(ctx.get(), &header), "header");
  check_declared_size(header.width, header.height, name);

  // 8- and 16-bit gray, gray+alpha, RGB and RGBA decode as they are stored (fastest); palette and
  // 1/2/4-bit files are expanded to 8-bit RGBA.
  int format = SPNG_FMT_PNG, channels = 0;
  switch (header.color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE: channels = 1; break;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA: channels = 2; break;
    case SPNG_COLOR_TYPE_TRUECOLOR: channels = 3; break;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA: channels = 4; break;
    default: break;
  }
  const bool wide = header.bit_depth == 16;
  if (channels == 0 || header.bit_depth < 8) format = SPNG_FMT_RGBA8, channels = 4;
  size_t size = 0;
  check(spng_decoded_image_size(ctx.get(), format, &size), "image size");
  std::vector<uint8_t> samples(size);
  check(spng_decode_image(ctx.get(), samples.data(), size, format, 0), "image data");
  check(spng_decode_chunks(ctx.get()), "chunks after the image data");  // up to IEND, CRCs checked
  const int width = int(header.width), height = int(header.height);
  if (wide) return to_gray(reinterpret_cast<const uint16_t*>(samples.data()), width, height, channels, 1.0f / 257.0f);
  return to_gray(samples.data(), width, height, channels, 1.0f);
}

// JPEG through TurboJPEG: gray files decode to one channel, color ones to RGB. Warnings (a file
// cut off early, corrupt data that libjpeg would fill with gray) are errors, and a progressive
// file may have at most 500 scans.
GrayImage decode_jpeg(const std::string& bytes, const std::string& name) {
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  RG_CHECK(tj != nullptr, name, ": cannot start the JPEG decoder: ", tjGetErrorStr2(nullptr));
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  RG_CHECK(tjDecompressHeader3(tj.get(), data, bytes.size(), &width, &height, &subsampling, &colorspace) == 0, name,
           ": corrupt JPEG (header: ", tjGetErrorStr2(tj.get()), ")");
  check_declared_size(uint64_t(width), uint64_t(height), name);
  const bool gray = colorspace == TJCS_GRAY;
  const int channels = gray ? 1 : 3;
  std::vector<uint8_t> samples(size_t(width) * height * channels);
  RG_CHECK(tjDecompress2(tj.get(), data, bytes.size(), samples.data(), width, 0, height, gray ? TJPF_GRAY : TJPF_RGB,
                         TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) == 0,
           name, ": corrupt JPEG (", tjGetErrorStr2(tj.get()), ")");
  return to_gray(samples.data(), width, height, channels, 1.0f);
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
      if (a == b)
        t.weights = {1.0f};
      else
        t.weights = {1.0f - frac, frac};
    } else {
      t.first = o;
      t.weights = {1.0f};
    }
  }
  return taps;
}

}  // namespace

bool looks_like_image(const std::string& first_bytes) {
  return is_png(first_bytes) || is_jpeg(first_bytes) || is_dicom(first_bytes);
}

GrayImage decode_image_bytes(const std::string& bytes, const std::string& name) {
  RG_CHECK(!bytes.empty(), name, ": empty file (expected a PNG, JPEG or DICOM image)");
  if (is_png(bytes)) return decode_png(bytes, name);
  if (is_jpeg(bytes)) return decode_jpeg(bytes, name);
  if (is_dicom(bytes)) return decode_dicom(bytes, name);
  throw Error(name + ": not a PNG, JPEG or DICOM file (unrecognized first bytes)");
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

GrayImage resize_rounded(const GrayImage& image, int width, int height) {
  GrayImage out = resize(image, width, height);
  for (float& v : out.pixels) v = float(std::clamp(std::lround(v), 0l, 255l));
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

std::string encode_png16(const std::vector<uint16_t>& samples, int width, int height) {
  RG_CHECK(samples.size() == size_t(width) * height, "encode_png16: expected ", size_t(width) * height,
           " samples, got ", samples.size());
  std::unique_ptr<spng_ctx, void (*)(spng_ctx*)> ctx(spng_ctx_new(SPNG_CTX_ENCODER), spng_ctx_free);
  RG_CHECK(ctx, "encode_png16: cannot start libspng");
  spng_ihdr header{uint32_t(width), uint32_t(height), 16, SPNG_COLOR_TYPE_GRAYSCALE, 0, 0, 0};
  int status = spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  if (status == 0) status = spng_set_ihdr(ctx.get(), &header);
  if (status == 0)  // SPNG_FMT_PNG: the samples as the header says, host-endian
    status = spng_encode_image(ctx.get(), samples.data(), samples.size() * 2, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  RG_CHECK(status == 0, "encode_png16: ", spng_strerror(status));
  size_t size = 0;
  std::unique_ptr<void, void (*)(void*)> png(spng_get_png_buffer(ctx.get(), &size, &status), std::free);
  RG_CHECK(png, "encode_png16: ", spng_strerror(status));
  return std::string(static_cast<const char*>(png.get()), size);
}

std::vector<uint8_t> gray_levels(const GrayImage& image) {
  std::vector<uint8_t> samples(image.pixels.size());
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = uint8_t(std::clamp(std::lround(image.pixels[i]), 0l, 255l));
  return samples;
}

void write_png(const std::string& path, const GrayImage& image) {
  write_file_atomic(path, encode_png(gray_levels(image), image.width, image.height, 1));
}

std::string encode_jpeg(const GrayImage& image, int quality) {
  std::string bytes;
  RG_CHECK(
      stbi_write_jpg_to_func(append_bytes, &bytes, image.width, image.height, 1, gray_levels(image).data(), quality),
      "encode_jpeg: stb_image_write failed");
  return bytes;
}

}  // namespace rg::data
