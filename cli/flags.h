// Command-line flags, one parser for the roentgen command and every example: every value is
// checked (a number must be a whole number in its range, a device usable, an output path
// writable) before any work starts, and a mistake is an rg::Error naming the flag.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "data/datasets.h"
#include "data/image.h"
#include "distributed/communicator.h"
#include "tensor/backend.h"
#include "tensor/error.h"

namespace rg::cli {

using Flags = std::map<std::string, std::string>;

// --flag value pairs after the subcommand, and `switches`: flags that take no value (stored as
// "1"). An unknown flag is an error showing `usage`; --help (or -h) prints `usage` and exits with 0.
inline Flags parse_flags(int argc, char** argv, int first, const std::vector<std::string>& known, const char* usage,
                         const std::vector<std::string>& switches = {}) {
  Flags flags;
  for (int i = first; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << usage;
      std::exit(0);
    }
    if (std::find(switches.begin(), switches.end(), flag) != switches.end()) {
      flags.insert_or_assign(flag, std::string(1, '1'));  // (not = "1": GCC 12 warns falsely, -Wrestrict)
      continue;
    }
    RG_CHECK(std::find(known.begin(), known.end(), flag) != known.end(), "unknown option '", flag, "'\n", usage);
    RG_CHECK(i + 1 < argc, "option ", flag, " needs a value");
    flags[flag] = argv[++i];
  }
  return flags;
}

// Every value given for `flag`, a flag that may be given more than once (parse_flags keeps the
// last): roentgen pack --labels A.csv --labels B.csv.
inline std::vector<std::string> all_values(int argc, char** argv, int first, const std::string& flag) {
  std::vector<std::string> values;
  for (int i = first; i + 1 < argc; ++i)
    if (argv[i] == flag) values.push_back(argv[++i]);
  return values;
}

// The whole number given for `flag` (`fallback` when absent), which must lie in [low, high].
inline int64_t integer(const Flags& flags, const char* flag, int64_t fallback, int64_t low, int64_t high) {
  const auto it = flags.find(flag);
  if (it == flags.end()) return fallback;
  size_t used = 0;
  long long v = 0;
  bool ok = !it->second.empty() && it->second.find_first_not_of("0123456789+-") == std::string::npos;
  try {
    v = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    ok = false;
  }
  RG_CHECK(ok && used == it->second.size() && v >= low && v <= high, flag, " must be a whole number from ", low, " to ",
           high, ", got '", it->second, "'");
  return v;
}

// The decimal number given for `flag` (`fallback` when absent), which must lie in [low, high].
inline double real(const Flags& flags, const char* flag, double fallback, double low, double high) {
  const auto it = flags.find(flag);
  if (it == flags.end()) return fallback;
  size_t used = 0;
  double v = std::nan("");
  bool ok = !it->second.empty() && it->second.find_first_not_of("0123456789+-.eE") == std::string::npos;
  try {
    v = std::stod(it->second, &used);
  } catch (const std::exception&) {
    ok = false;
  }
  RG_CHECK(ok && used == it->second.size() && v >= low && v <= high, flag, " must be a number from ", low, " to ", high,
           ", got '", it->second, "'");
  return v;
}

inline uint64_t seed(const Flags& flags) {
  return uint64_t(integer(flags, "--seed", 0, 0, std::numeric_limits<int64_t>::max()));
}

// --threads: at most four per core.
inline int threads(const Flags& flags, int fallback) {
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  return int(integer(flags, "--threads", fallback, 1, 4 * cores));
}

// --device cpu|cuda|cuda:N (default cpu), checked usable before any work: without a GPU, or in a
// CPU-only build, this is the one error that says which.
inline Device device_flag(const Flags& flags) {
  const auto it = flags.find("--device");
  const Device device = it == flags.end() ? Device::cpu() : parse_device(it->second);
  check_device(device);
  return device;
}

// Under mpirun, `--device cuda` means this rank's GPU: cuda:<its rank on this machine>.
inline Device rank_device(const Flags& flags, const Communicator& comm) {
  const auto it = flags.find("--device");
  if (comm.size() == 1 || it == flags.end() || it->second != "cuda") return device_flag(flags);
  const Device mine = Device::cuda(comm.local_rank());
  check_device(mine);
  return mine;
}

// --threads, or: alone `fallback`, under mpirun this rank's share of the machine's cores.
inline int rank_threads(const Flags& flags, const Communicator& comm, int fallback) {
  if (flags.count("--threads") || comm.size() == 1) return threads(flags, fallback);
  return std::max(1, int(std::max(1u, std::thread::hardware_concurrency())) / comm.local_size());
}

// --max-image-pixels N: the largest image (width x height, as its header declares) that is decoded;
// a larger one is refused before decoding (default 2^28).
inline void image_limit_flag(const Flags& flags) {
  data::image_limits().max_pixels =
      uint64_t(integer(flags, "--max-image-pixels", int64_t(data::image_limits().max_pixels), 1, int64_t(1) << 40));
}

// How every label file is read (data/datasets.h): --label-format
// auto|nih|notebook|chexpert|vindr|padchest|rsna (default auto: from the header), --uncertain
// ignore|ones|zeros (CheXpert's -1; default ignore: missing), --views PA,AP,... (only those
// views), --official-split NAME (MIMIC-CXR's train, validate or test) and the switch
// --one-per-patient (each patient's first image only).
inline void label_flags(const Flags& flags) {
  data::LabelOptions& o = data::label_options();
  if (flags.count("--label-format")) o.format = data::label_format_from_name(flags.at("--label-format"));
  if (flags.count("--uncertain")) o.uncertain = data::uncertain_from_name(flags.at("--uncertain"));
  if (flags.count("--views")) {
    std::stringstream list(flags.at("--views"));
    for (std::string view; std::getline(list, view, ',');)
      if (!view.empty()) o.views.push_back(view);
    RG_CHECK(!o.views.empty(), "--views: expected views like PA,AP, got '", flags.at("--views"), "'");
  }
  if (flags.count("--official-split")) o.official_split = flags.at("--official-split");
  o.one_per_patient = flags.count("--one-per-patient") > 0;
}

// --normalization sample|notebook (default sample): true for the notebook's mix of per-image
// normalization in training and a dataset mean/std in evaluation.
inline bool normalization_flag(const Flags& flags) {
  const auto it = flags.find("--normalization");
  if (it == flags.end() || it->second == "sample") return false;
  RG_CHECK(it->second == "notebook", "--normalization must be sample or notebook, got '", it->second, "'");
  return true;
}

// A flag that is on or off (--sync-batch-norm on|off), `fallback` when absent.
inline bool on_off(const Flags& flags, const char* flag, bool fallback) {
  const auto it = flags.find(flag);
  if (it == flags.end()) return fallback;
  RG_CHECK(it->second == "on" || it->second == "off", flag, " must be on or off, got '", it->second, "'");
  return it->second == "on";
}

// An output file: its folder must exist and be writable, checked before the work that fills it.
inline void check_writable_file(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string folder = parent.empty() ? "." : parent.string();
  RG_CHECK(std::filesystem::is_directory(folder) && ::access(folder.c_str(), W_OK) == 0, path, ": cannot write there (",
           folder, " is not a writable folder)");
  RG_CHECK(!std::filesystem::is_directory(path), path, ": is a folder, expected a file name");
}

// An output folder, created (with its parents) before any work.
inline void make_output_folder(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  RG_CHECK(!error && std::filesystem::is_directory(path) && ::access(path.c_str(), W_OK) == 0, path,
           ": cannot create or write this folder", error ? ": " + error.message() : std::string());
}

}  // namespace rg::cli
