#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace rg {

Progress::Progress(std::string title, int64_t total)
    : title_(std::move(title)),
      total_(total),
      terminal_(isatty(fileno(stderr))),
      start_(std::chrono::steady_clock::now()) {}

void Progress::update(int64_t done, int64_t items, const std::string& status) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double eta = done > 0 ? seconds * double(total_ - done) / double(done) : 0.0;
  char eta_text[32], rate[32] = "-- img/s";  // no rate in the first tenth of a second: a few items in microseconds
  std::snprintf(eta_text, sizeof(eta_text), "%d:%02d", int(eta) / 60, int(eta) % 60);
  if (seconds >= 0.1) std::snprintf(rate, sizeof(rate), "%.1f img/s", double(items) / seconds);
  if (terminal_) {
    const int width = 24, filled = total_ > 0 ? int(width * done / total_) : width;
    std::string bar(size_t(filled), '=');
    if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), ' ');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld  %s  %s  ETA %s   ", title_.c_str(), bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), status.c_str(), rate, eta_text);
  } else if (done * 10 / std::max<int64_t>(total_, 1) != last_printed_ || done == total_) {
    last_printed_ = done * 10 / std::max<int64_t>(total_, 1);  // about every tenth
    std::fprintf(stderr, "%s %lld/%lld  %s  %s  ETA %s\n", title_.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_), status.c_str(), rate, eta_text);
  }
  std::fflush(stderr);
}

void Progress::finish(const std::string& status) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "%s%s done in %.1f s  %s\n", terminal_ ? "\r" : "", title_.c_str(), seconds, status.c_str());
}

}  // namespace rg
