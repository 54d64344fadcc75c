#include "models/patient_record.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>

#include "data/leakage.h"
#include "tensor/error.h"

namespace rg {

namespace {

constexpr std::array<uint32_t, 64> kRound = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

// One 64-byte block into the state h.
void compress(std::array<uint32_t, 8>& h, const unsigned char* block) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i)
    w[i] = uint32_t(block[4 * i]) << 24 | uint32_t(block[4 * i + 1]) << 16 | uint32_t(block[4 * i + 2]) << 8 |
           uint32_t(block[4 * i + 3]);
  for (int i = 16; i < 64; ++i) {
    const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 64; ++i) {
    const uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kRound[size_t(i)] + w[i];
    const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
  }
  const uint32_t out[8] = {a, b, c, d, e, f, g, k};
  for (int i = 0; i < 8; ++i) h[size_t(i)] += out[i];
}

std::string hex(const unsigned char* bytes, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += {digits[bytes[i] >> 4], digits[bytes[i] & 15]};
  return s;
}

// Sorted and each once.
std::vector<std::string> hashes(const PatientRecord& record, const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids) out.push_back(record.hash(id));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::string sha256_hex(const std::string& bytes) {
  std::array<uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  // The message, a 1 bit, zeros, and its length in bits (64-bit big-endian): whole blocks.
  std::string padded = bytes + '\x80';
  padded.append((120 - padded.size() % 64) % 64, '\0');
  const uint64_t bits = uint64_t(bytes.size()) * 8;
  for (int i = 7; i >= 0; --i) padded += char((bits >> (8 * i)) & 0xff);
  for (size_t at = 0; at < padded.size(); at += 64)
    compress(h, reinterpret_cast<const unsigned char*>(padded.data()) + at);
  unsigned char digest[32];
  for (int i = 0; i < 32; ++i) digest[i] = (unsigned char)(h[size_t(i / 4)] >> (24 - 8 * (i % 4)));
  return hex(digest, 32);
}

PatientRecord PatientRecord::of(const std::vector<std::string>& train_ids, const std::vector<std::string>& valid_ids,
                                uint64_t seed) {
  std::string material = "roentgen patient record, seed " + std::to_string(seed);
  for (const auto* ids : {&train_ids, &valid_ids})
    for (const auto& id : *ids) material += "\n" + id;
  PatientRecord record{sha256_hex(material).substr(0, 32), {}, {}};
  record.train = hashes(record, train_ids);
  record.valid = hashes(record, valid_ids);
  return record;
}

std::string PatientRecord::hash(const std::string& patient_id) const {
  return sha256_hex(salt + ":" + patient_id).substr(0, 16);
}

bool PatientRecord::trained_on(const std::string& patient_id) const {
  return !empty() && std::binary_search(train.begin(), train.end(), hash(patient_id));
}

bool PatientRecord::validated_on(const std::string& patient_id) const {
  return !empty() && std::binary_search(valid.begin(), valid.end(), hash(patient_id));
}

std::string seen_patients_warning(const PatientRecord& record, const data::LabelTable& table) {
  if (record.empty()) return "";
  std::vector<std::string> trained, validated;
  std::set<std::string> patients;
  for (const auto& item : table.images) {
    if (item.patient_id.empty()) continue;
    const bool t = record.trained_on(item.patient_id), v = !t && record.validated_on(item.patient_id);
    if (t) trained.push_back(item.image);
    if (v) validated.push_back(item.image);
    if (t || v) patients.insert(item.patient_id);
  }
  if (patients.empty()) return "";
  std::string s = detail::concat(trained.size() + validated.size(), " of the ", table.size(), " images in ",
                                 table.source, " belong to ", patients.size(),
                                 " patients the model has seen, so their scores overstate it (the notebook's section "
                                 "2.2):");
  if (!trained.empty()) s += detail::concat(" ", trained.size(), " trained on (", data::first_few(trained), ")");
  if (!validated.empty())
    s += detail::concat(trained.empty() ? " " : "; ", validated.size(), " validated on (", data::first_few(validated),
                        ")");
  return s;
}

}  // namespace rg
