// The safetensors file format (https://github.com/huggingface/safetensors), read and written:
//
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   JSON: {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
//                    ..., "__metadata__": {"<key>": "<string value>", ...}}
//   the rest  raw little-endian tensor data; offsets count from its start
//
// Reading is strict: a truncated file, a header over 100 MB or not such JSON, an unknown dtype, a
// shape whose size overflows or does not match its span, offsets out of range, overlapping or
// leaving holes — each is an rg::Error naming the file and the tensor. Supported dtypes: F32, F64, U8, I64.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace rg {

struct SafeTensors {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in the order of their data in the file
  std::map<std::string, std::string> metadata;

  // The tensor called `name`, or an undefined Tensor.
  Tensor find(const std::string& name) const;
};

SafeTensors read_safetensors(const std::string& path);
// The same, from the file's bytes (`name` is used in messages).
SafeTensors parse_safetensors(const std::string& bytes, const std::string& name);

// Writes the tensors (copied to the CPU if needed) in the given order, atomically.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace rg
