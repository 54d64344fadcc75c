// The roentgen command's flag parsing, shared by its subcommands.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "tensor/backend.h"
#include "tensor/error.h"

namespace rg::app {

// --flag value pairs after the subcommand; an unknown flag is an error showing `usage`.
inline std::map<std::string, std::string> parse_flags(int argc, char** argv, int first,
                                                      const std::vector<std::string>& known, const char* usage) {
  std::map<std::string, std::string> flags;
  for (int i = first; i < argc; ++i) {
    const std::string flag = argv[i];
    RG_CHECK(std::find(known.begin(), known.end(), flag) != known.end(), "unknown option '", flag, "'\n", usage);
    RG_CHECK(i + 1 < argc, "option ", flag, " needs a value");
    flags[flag] = argv[++i];
  }
  return flags;
}

inline int64_t positive(const std::string& text, const char* what) {
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
  }
  RG_CHECK(used == text.size() && v > 0, what, " must be a positive integer, got '", text, "'");
  return v;
}

// --device cpu|cuda|cuda:N (default cpu), checked usable before any work: without a GPU, or in a
// CPU-only build, this is the one error that says which.
inline Device device_flag(const std::map<std::string, std::string>& flags) {
  const auto it = flags.find("--device");
  const Device device = it == flags.end() ? Device::cpu() : parse_device(it->second);
  check_device(device);
  return device;
}

}  // namespace rg::app
