// libFuzzer target: a DICOM file's bytes, decoded to the gray image a viewer shows (data/dicom.h),
// then resized as the loader does. Every input must end in an image or an rg::Error; any other
// exception, a crash, a leak or a sanitizer report is a bug. GDCM, which parses the file and runs
// the codecs, is Debian's uninstrumented build: the fuzzer sees our side of it (JPEG 2000 frames
// go to the roentgen-decode-j2k process beside it, as in use: data/jpeg2000_process.h). The pixel limit
// is lowered to 2^22 so that one input stays within the fuzzer's memory and time limits.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/dicom.h"
#include "tensor/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rg::data::image_limits().max_pixels = uint64_t(1) << 22;
  try {
    const rg::data::GrayImage image =
        rg::data::decode_dicom(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    rg::data::resize(image, 32, 32);
  } catch (const rg::Error&) {}
  return 0;
}
