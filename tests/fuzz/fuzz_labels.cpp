// libFuzzer target: a label file's bytes, plain or gzip — the CSV reader, then every label format
// (the notebook's, NIH's, and the public datasets' of data/datasets.h; MIMIC-CXR's stops where it
// looks for its metadata beside the file). Every input must end in a result or an rg::Error; any other
// exception, a crash, a leak or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/csv.h"
#include "data/labels.h"
#include "tensor/error.h"
#include "tensor/io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const std::string text =
        rg::gunzip(std::string(reinterpret_cast<const char*>(data), size), "fuzz", size_t(64) << 20);
    rg::data::parse_labels(rg::data::parse_csv(text, "fuzz"));
  } catch (const rg::Error&) {}
  return 0;
}
