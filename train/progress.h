// Progress of a long loop: a live bar on a terminal, plain periodic lines otherwise (logs, CI).
//
//   epoch 2/10 [=========>          ] 12/25  loss 0.5123  14.2 img/s  ETA 0:41
#pragma once

#include <chrono>
#include <string>

namespace rg {

class Progress {
 public:
  Progress(std::string title, int64_t total);
  // After `done` of `total` steps; `items` processed so far (images, for the rate).
  void update(int64_t done, int64_t items, const std::string& status);
  void finish(const std::string& status);

 private:
  std::string title_;
  int64_t total_;
  bool terminal_;
  int64_t last_printed_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace rg
