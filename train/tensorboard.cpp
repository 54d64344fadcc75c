#include "train/tensorboard.h"

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"

namespace rg {

uint32_t crc32c(const std::string& data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

namespace {

uint32_t masked_crc(const std::string& data) {
  const uint32_t crc = crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

// Protocol buffer wire format, the three kinds we need.
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += char(v | 0x80);
    v >>= 7;
  }
  out += char(v);
}
void field_varint(std::string& out, int field, uint64_t v) {
  varint(out, uint64_t(field) << 3);
  varint(out, v);
}
void field_bytes(std::string& out, int field, const std::string& bytes) {
  varint(out, (uint64_t(field) << 3) | 2);
  varint(out, bytes.size());
  out += bytes;
}
template <typename T>
void field_fixed(std::string& out, int field, T value) {  // double (wire type 1) or float (5)
  varint(out, (uint64_t(field) << 3) | (sizeof(T) == 8 ? 1 : 5));
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.append(raw, sizeof(T));
}

double now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  std::filesystem::create_directories(dir);
  path_ =
      (std::filesystem::path(dir) / ("events.out.tfevents." + std::to_string(int64_t(now())) + ".roentgen")).string();
  out_.open(path_, std::ios::binary | std::ios::app);
  RG_CHECK(out_.good(), path_, ": cannot create the TensorBoard event file");
  std::string event;
  field_fixed(event, 1, now());
  field_bytes(event, 3, "brain.Event:2");
  write_record(event);
}

void TensorBoardWriter::scalar(const std::string& tag, double value, int64_t step) {
  std::string v, summary, event;
  field_bytes(v, 1, tag);
  field_fixed(v, 2, float(value));
  field_bytes(summary, 1, v);
  field_fixed(event, 1, now());
  field_varint(event, 2, uint64_t(step));
  field_bytes(event, 5, summary);
  write_record(event);
}

void TensorBoardWriter::write_record(const std::string& data) {
  const uint64_t length = data.size();
  std::string header(8, '\0');
  std::memcpy(header.data(), &length, 8);
  const uint32_t header_crc = masked_crc(header), data_crc = masked_crc(data);
  out_.write(header.data(), 8);
  out_.write(reinterpret_cast<const char*>(&header_crc), 4);
  out_.write(data.data(), std::streamsize(data.size()));
  out_.write(reinterpret_cast<const char*>(&data_crc), 4);
  out_.flush();
  RG_CHECK(out_.good(), path_, ": write failed");
}

}  // namespace rg
