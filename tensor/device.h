// Device: where a tensor's bytes live — the CPU, or CUDA GPU number `index`.
#pragma once

#include <ostream>
#include <string>

namespace rg {

struct Device {
  enum class Kind { CPU, CUDA };
  Kind kind = Kind::CPU;
  int index = 0;

  static Device cpu() { return {Kind::CPU, 0}; }
  static Device cuda(int index = 0) { return {Kind::CUDA, index}; }
  bool is_cpu() const { return kind == Kind::CPU; }
  bool is_cuda() const { return kind == Kind::CUDA; }
  bool operator==(const Device&) const = default;

  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

// "cpu", "cuda" (GPU 0) or "cuda:N"; anything else is an rg::Error. Whether the device exists is
// checked where it is used (backend_for).
Device parse_device(const std::string& text);

inline std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

}  // namespace rg
