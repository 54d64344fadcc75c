// libFuzzer target: a predictions file's bytes, plain or gzip, scored against a fixed label table
// as `roentgen eval` does. Every input must end in a result or an rg::Error; any other exception,
// a crash, a leak or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/csv.h"
#include "metrics/evaluate.h"
#include "tensor/error.h"
#include "tensor/io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rg::data::LabelTable truth = [] {
    rg::data::LabelTable t;
    t.source = "labels.csv";
    t.label_names = {"Mass", "Hernia"};
    t.images = {{"a.png", {1, 0}, "1"}, {"b.png", {0, 1}, "2"}, {"c.png", {1, 1}, "3"}, {"d.png", {0, 0}, "4"}};
    return t;
  }();
  try {
    const std::string text =
        rg::gunzip(std::string(reinterpret_cast<const char*>(data), size), "fuzz", size_t(64) << 20);
    rg::metrics::evaluate(truth, rg::data::parse_csv(text, "fuzz"), 20, 0);
  } catch (const rg::Error&) {}
  return 0;
}
