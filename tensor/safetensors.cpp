#include "tensor/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cstring>

#include "tensor/io.h"

namespace rg {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

const std::pair<const char*, DType> kDTypes[] = {{"F32", DType::Float32},
                                                 {"F64", DType::Float64},
                                                 {"U8", DType::UInt8},
                                                 {"I64", DType::Int64},
                                                 {"BF16", DType::BFloat16}};

// safetensors' own rule: a header over 100 MB is refused before it is parsed.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

const char* dtype_code(DType t) {
  for (const auto& [code, dtype] : kDTypes)
    if (dtype == t) return code;
  return "?";
}

}  // namespace

Tensor SafeTensors::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  return {};
}

SafeTensors parse_safetensors(const std::string& bytes, const std::string& name) {
  RG_CHECK(bytes.size() >= 8, name, ": truncated safetensors file (", bytes.size(), " bytes, no header length)");
  RG_CHECK(!(uint8_t(bytes[0]) == 0x1F && uint8_t(bytes[1]) == 0x8B), name,
           ": is gzip-compressed; safetensors files are read as they are (gunzip it first)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  RG_CHECK(header_len <= kMaxHeaderBytes, name, ": safetensors header of ", header_len,
           " bytes announced, more than the ", kMaxHeaderBytes, " bytes the format allows");
  RG_CHECK(header_len <= bytes.size() - 8, name, ": truncated safetensors file: header of ", header_len,
           " bytes announced, ", bytes.size() - 8, " present");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + std::ptrdiff_t(header_len));
  } catch (const std::exception& e) {
    throw Error(name + ": bad safetensors header (not JSON): " + e.what());
  }
  RG_CHECK(header.is_object(), name, ": bad safetensors header: expected a JSON object");
  const char* data = bytes.data() + 8 + header_len;
  const uint64_t data_len = bytes.size() - 8 - header_len;

  SafeTensors out;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") {
      RG_CHECK(entry.is_object(), name, ": __metadata__ must be an object of strings");
      for (const auto& [k, v] : entry.items()) {
        RG_CHECK(v.is_string(), name, ": __metadata__ value of '", k, "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = name + ": tensor '" + key + "'";
    RG_CHECK(entry.is_object() && entry.contains("dtype") && entry.contains("shape") && entry.contains("data_offsets"),
             where, ": expected dtype, shape and data_offsets");
    RG_CHECK(entry["dtype"].is_string(), where, ": dtype is not a string");
    const std::string code = entry["dtype"];
    const auto known =
        std::find_if(std::begin(kDTypes), std::end(kDTypes), [&](const auto& d) { return code == d.first; });
    RG_CHECK(known != std::end(kDTypes), where, ": unsupported dtype ", code, " (supported: F32, F64, U8, I64)");
    // The shape's byte size is computed without overflow and must fit the data section, before
    // anything is allocated.
    Shape shape;
    RG_CHECK(entry["shape"].is_array(), where, ": shape is not a list");
    uint64_t expected = dtype_size(known->second);
    for (const auto& s : entry["shape"]) {
      RG_CHECK(s.is_number_unsigned() && s.get<uint64_t>() <= uint64_t(INT64_MAX), where, ": bad shape entry ",
               s.dump());
      shape.push_back(s.get<int64_t>());
      RG_CHECK(!__builtin_mul_overflow(expected, s.get<uint64_t>(), &expected) && expected <= data_len, where,
               ": shape ", entry["shape"].dump(), " ", code, " needs more bytes than the file's data section has (",
               data_len, ")");
    }
    const auto& offsets = entry["data_offsets"];
    RG_CHECK(
        offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned(),
        where, ": data_offsets must be [begin, end]");
    const uint64_t begin = offsets[0], end = offsets[1];
    RG_CHECK(begin <= end && end <= data_len, where, ": data_offsets [", begin, ", ", end,
             "] out of range (the data section has ", data_len, " bytes)");
    RG_CHECK(end - begin == expected, where, ": ", end - begin, " bytes for shape ", shape_str(shape), " ", code,
             ", expected ", expected);
    Tensor t = Tensor::empty(shape, known->second);
    if (expected) std::memcpy(t.data_ptr(), data + begin, expected);
    spans.push_back({begin, end, key});
    out.tensors.emplace_back(key, t);
  }
  // The data section must be covered exactly once (no overlaps, no holes).
  std::vector<size_t> order(spans.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return spans[a].begin < spans[b].begin; });
  uint64_t covered = 0;
  for (size_t i : order) {
    RG_CHECK(spans[i].begin >= covered, name, ": tensor '", spans[i].name, "' overlaps the data of another tensor");
    RG_CHECK(spans[i].begin == covered, name, ": bytes ", covered, "..", spans[i].begin,
             " of the data section belong to no tensor");
    covered = spans[i].end;
  }
  RG_CHECK(covered == data_len, name, ": ", data_len - covered,
           " bytes at the end of the data section belong to no tensor");
  std::vector<std::pair<std::string, Tensor>> sorted;
  for (size_t i : order) sorted.push_back(std::move(out.tensors[i]));
  out.tensors = std::move(sorted);
  return out;
}

SafeTensors read_safetensors(const std::string& path) { return parse_safetensors(read_file(path), path); }

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    RG_CHECK(!header.contains(name), "write_safetensors: tensor name '", name, "' appears twice");
    const Tensor host = contiguous_untracked(tensor.device().is_cpu() ? tensor : tensor.to(Device::cpu()));
    const size_t begin = data.size(), bytes = size_t(host.numel()) * dtype_size(host.dtype());
    data.append(static_cast<const char*>(host.data_ptr()), bytes);
    header[name] = {
        {"dtype", dtype_code(host.dtype())}, {"shape", host.shape()}, {"data_offsets", {begin, begin + bytes}}};
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
  const uint64_t n = text.size();
  std::string file(8, '\0');
  std::memcpy(file.data(), &n, 8);
  write_file_atomic(path, file + text + data);
}

}  // namespace rg
