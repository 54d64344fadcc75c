// libFuzzer target: a model file's bytes — the safetensors header and data, then roentgen's
// metadata (architecture, labels, image size, normalization). Every input must end in a result or
// an rg::Error; any other exception, a crash, a leak or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "models/model_file.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const rg::SafeTensors file = rg::parse_safetensors(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    rg::ModelInfo::from_metadata(file.metadata, "fuzz");
  } catch (const rg::Error&) {}
  return 0;
}
