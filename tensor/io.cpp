#include "tensor/io.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"

namespace rg {

std::string read_file(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  RG_CHECK(file != nullptr, path, ": cannot open: ", std::strerror(errno));
  std::string bytes;
  char buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) bytes.append(buffer, n);
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  RG_CHECK(!failed, path, ": read error: ", std::strerror(error));
  return bytes;
}

std::string read_file_gunzip(const std::string& path, size_t max_bytes) {
  // zlib's gz* functions read gzip files and pass plain files through unchanged.
  gzFile file = gzopen(path.c_str(), "rb");
  RG_CHECK(file != nullptr, path, ": cannot open: ", std::strerror(errno));
  std::string bytes;
  char buffer[1 << 16];
  while (true) {
    const int n = gzread(file, buffer, sizeof(buffer));
    if (n < 0) {
      int code = 0;
      const std::string why = gzerror(file, &code);
      gzclose(file);
      throw Error(path + ": read error: " + why);
    }
    if (n == 0) break;
    if (bytes.size() + size_t(n) > max_bytes) {
      gzclose(file);
      throw Error(path + ": more than " + std::to_string(max_bytes) + " bytes once decompressed (the limit for this file)");
    }
    bytes.append(buffer, size_t(n));
  }
  // A gzip stream cut short reads as a clean end of data; gzclose_r reports it.
  const int closed = gzclose(file);
  RG_CHECK(closed == Z_OK, path, ": truncated or corrupt gzip data (zlib error ", closed, ")");
  return bytes;
}

namespace {

// Removes `path.tmp-PID-N` files left by a process that died while writing `path` (PID no longer
// running): a run killed mid-write leaves one, and a checkpoint's is as large as the checkpoint.
void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + ".tmp-";
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string rest = name.substr(prefix.size());  // PID-N
    const size_t dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos || rest.find_first_not_of("0123456789-") != std::string::npos) continue;
    const long pid = std::strtol(rest.substr(0, dash).c_str(), nullptr, 10);
    if (pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH) fs::remove(entry.path(), error);
  }
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes) {
  static std::atomic<int> counter{0};
  remove_stale_temporaries(path);
  const std::string tmp = path + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  RG_CHECK(fd >= 0, path, ": cannot create ", tmp, ": ", std::strerror(errno));
  auto fail = [&](const char* what, int error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(path + ": " + what + ": " + std::strerror(error));
  };
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write failed", errno);
    written += size_t(n);
  }
  if (::fsync(fd) != 0) fail("could not be written (fsync)", errno);
  if (::close(fd) != 0) {
    const int error = errno;  // kept before unlink can change it
    ::unlink(tmp.c_str());
    throw Error(path + ": could not be written (close): " + std::strerror(error));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    throw Error(path + ": could not be written (rename): " + std::strerror(error));
  }
  // The rename lives in the folder's entry: sync the folder too, so a crash cannot undo it.
  const std::string folder = std::filesystem::path(path).parent_path().empty() ? "." : std::filesystem::path(path).parent_path().string();
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace rg
