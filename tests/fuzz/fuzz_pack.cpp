// libFuzzer target: a pack's bytes (data/pack.h) — the header, the index, the names and labels,
// then every record. Each input is tried as it is and once more with its two CRCs recomputed, so
// that mutations reach the checks behind them. Every input must end in a result or an
// rg::Error; any other exception, a crash, a leak or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "data/pack.h"
#include "tensor/error.h"

namespace {

void read_all(const std::string& bytes) {
  try {
    const auto pack = rg::data::ImagePack::parse(bytes, "fuzz");
    (void)pack->source();
    for (int64_t i = 0; i < pack->size(); ++i) {
      (void)pack->find(pack->name(i));
      (void)pack->labels(i);
      (void)pack->pixels(i);
    }
  } catch (const rg::Error&) {}
}

// The bytes with the header's CRC and the tail's recomputed, when the header says where the tail is.
std::string resealed(std::string bytes) {
  rg::data::PackHeader h;
  if (bytes.size() < sizeof(h)) return bytes;
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (h.index_offset <= bytes.size())
    h.tail_crc = rg::data::pack_crc(bytes.data() + h.index_offset, bytes.size() - h.index_offset);
  h.header_crc = rg::data::pack_crc(&h, offsetof(rg::data::PackHeader, header_crc));
  std::memcpy(bytes.data(), &h, sizeof(h));
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  read_all(bytes);
  read_all(resealed(bytes));
  return 0;
}
