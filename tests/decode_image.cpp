// Decodes one image file as the loader does (data/image.h: PNG, JPEG or DICOM) and writes its
// pixels for the Python tests to compare: width and height as little-endian int32, then the
// height x width gray values as float32, row by row. An error prints its message and exits 1.
//   decode_image IMAGE OUT
#include <cstdint>
#include <cstdio>
#include <string>

#include "data/image.h"
#include "tensor/error.h"
#include "tensor/io.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: decode_image IMAGE OUT\n");
    return 2;
  }
  try {
    const rg::data::GrayImage image = rg::data::decode_image(argv[1]);
    const int32_t size[2] = {image.width, image.height};
    std::string bytes(reinterpret_cast<const char*>(size), sizeof size);
    bytes.append(reinterpret_cast<const char*>(image.pixels.data()), image.pixels.size() * sizeof(float));
    rg::write_file_atomic(argv[2], bytes);
  } catch (const rg::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
