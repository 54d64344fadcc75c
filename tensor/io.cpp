#include "tensor/io.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tensor/error.h"

namespace rg {

std::string read_file(const std::string& path) {
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
    bytes.append(buffer, size_t(n));
  }
  // A gzip stream cut short reads as a clean end of data; gzclose_r reports it.
  const int closed = gzclose(file);
  RG_CHECK(closed == Z_OK, path, ": truncated or corrupt gzip data (zlib error ", closed, ")");
  return bytes;
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  static std::atomic<int> counter{0};
  const std::string tmp = path + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  RG_CHECK(fd >= 0, path, ": cannot create ", tmp, ": ", std::strerror(errno));
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(path + ": write failed: " + why);
    }
    written += size_t(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error(path + ": could not be written: " + why);
  }
}

}  // namespace rg
