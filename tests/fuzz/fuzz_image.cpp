// libFuzzer target: an image file's bytes (PNG, JPEG or DICOM), decoded and resized to the model's input
// as the loader does. Every input must end in an image or an rg::Error; any other exception, a
// crash, a leak or a sanitizer report is a bug. The pixel limit is lowered to 2^22 so that one
// input stays within the fuzzer's memory and time limits; the limit itself is what refuses larger.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/image.h"
#include "tensor/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rg::data::image_limits().max_pixels = uint64_t(1) << 22;
  try {
    const rg::data::GrayImage image =
        rg::data::decode_image_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    rg::data::resize(image, 32, 32);
  } catch (const rg::Error&) {}
  return 0;
}
