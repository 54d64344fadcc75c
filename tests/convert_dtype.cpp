// Every tensor of a safetensors file converted to a dtype with Tensor::to: the C++ side of
// tests/bfloat16_pytorch.py, which compares the result with PyTorch's conversion.
//   convert_dtype IN.safetensors OUT.safetensors bfloat16|float32|...
#include <iostream>

#include "tensor/safetensors.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: convert_dtype IN.safetensors OUT.safetensors DTYPE\n";
    return 2;
  }
  try {
    const rg::DType dtype = rg::dtype_from_name(argv[3]);
    std::vector<std::pair<std::string, rg::Tensor>> out;
    for (const auto& [name, t] : rg::read_safetensors(argv[1]).tensors) out.emplace_back(name, t.to(dtype));
    rg::write_safetensors(argv[2], out);
    return 0;
  } catch (const rg::Error& e) {
    std::cerr << "convert_dtype: " << e.what() << "\n";
    return 1;
  }
}
