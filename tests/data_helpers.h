// Helpers for the data tests: a scratch folder, and where the shared real data lives.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <unistd.h>

#include "helpers.h"

namespace rg::test {

// A fresh folder under the system temp dir, removed with everything in it at scope end.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("roentgen-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// ../shared/data beside the repository (or $ROENTGEN_SHARED_DATA); empty when absent.
inline std::string shared_data_dir() {
  if (const char* env = std::getenv("ROENTGEN_SHARED_DATA")) return env;
  const auto dir = std::filesystem::path(ROENTGEN_SOURCE_DIR) / ".." / "shared" / "data";
  return std::filesystem::exists(dir / "nih-sample") ? dir.lexically_normal().string() : "";
}

// True (after printing why) when the real NIH sample is not on this machine.
inline bool skip_without_shared_data() { return skip_without(shared_data_dir(), "../shared/data (the NIH sample)"); }

}  // namespace rg::test
