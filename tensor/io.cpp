#include "tensor/io.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

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

std::string gunzip(const std::string& bytes, const std::string& name, size_t max_bytes) {
  auto is_gzip = [&](size_t at) {
    return bytes.size() >= at + 2 && uint8_t(bytes[at]) == 0x1F && uint8_t(bytes[at + 1]) == 0x8B;
  };
  if (!is_gzip(0)) return bytes;
  RG_CHECK(bytes.size() <= UINT32_MAX, name, ": a gzip file over 4 GB is not read");  // zlib counts input in uInt
  std::string out;
  z_stream z{};
  RG_CHECK(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK, name, ": cannot start zlib");  // 16: gzip wrapper
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = uInt(bytes.size());
  char buffer[1 << 16];
  int status = Z_OK;
  std::string error;
  while (error.empty()) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    status = inflate(&z, Z_NO_FLUSH);
    const size_t produced = sizeof(buffer) - z.avail_out;
    if (out.size() + produced > max_bytes)
      error = "more than " + std::to_string(max_bytes) + " bytes once decompressed (the limit)";
    else
      out.append(buffer, produced);
    if (status == Z_STREAM_END) {
      // gzip files may hold several members one after another (as `cat a.gz b.gz`).
      const size_t at = bytes.size() - z.avail_in;
      if (z.avail_in == 0) break;
      if (!is_gzip(at))
        error = std::to_string(z.avail_in) + " bytes after the end of the gzip data";
      else
        inflateReset(&z);
    } else if (status != Z_OK) {
      const char* why = z.msg ? z.msg : status == Z_BUF_ERROR ? "unexpected end" : "error";
      error = std::string("truncated or corrupt gzip data (zlib: ") + why + ")";
    }
  }
  inflateEnd(&z);
  RG_CHECK(error.empty(), name, ": ", error);
  return out;
}

std::string gzip(const std::string& bytes) {
  RG_CHECK(bytes.size() <= UINT32_MAX, "gzip: more than 4 GB in one piece");  // zlib counts input in uInt
  z_stream z{};
  RG_CHECK(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK,
           "gzip: cannot start zlib");  // 16: gzip wrapper
  std::string out(deflateBound(&z, uLong(bytes.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = uInt(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  const int status = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  RG_CHECK(status == Z_STREAM_END, "gzip: zlib failed (", status, ")");
  return out;
}

std::string read_file_gunzip(const std::string& path, size_t max_bytes) {
  return gunzip(read_file(path), path, max_bytes);
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

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  static std::atomic<int> counter{0};
  remove_stale_temporaries(path_);
  tmp_ = path_ + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  RG_CHECK(fd_ >= 0, path_, ": cannot create ", tmp_, ": ", std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

void AtomicFile::fail(const char* what, int error) {
  ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  throw Error(path_ + ": " + what + ": " + std::strerror(error));
}

void AtomicFile::write_at(uint64_t offset, const void* data, size_t size) {
  RG_CHECK(fd_ >= 0, path_, ": written after commit");
  const char* bytes = static_cast<const char*>(data);
  size_t written = 0;
  while (written < size) {
    const ssize_t n = ::pwrite(fd_, bytes + written, size - written, off_t(offset + written));
    if (n < 0 && errno == EINTR) continue;
    // Other threads may be writing too: the temporary is removed by the destructor, not here.
    RG_CHECK(n >= 0, path_, ": write failed: ", std::strerror(errno));
    written += size_t(n);
  }
}

void AtomicFile::commit() {
  RG_CHECK(fd_ >= 0, path_, ": committed twice");
  if (::fsync(fd_) != 0) fail("could not be written (fsync)", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int error = errno;  // kept before unlink can change it
    ::unlink(tmp_.c_str());
    throw Error(path_ + ": could not be written (close): " + std::strerror(error));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp_.c_str());
    throw Error(path_ + ": could not be written (rename): " + std::strerror(error));
  }
  // The rename lives in the folder's entry: sync the folder too, so a crash cannot undo it.
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  const std::string folder = parent.empty() ? "." : parent.string();
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write_at(0, bytes.data(), bytes.size());
  file.commit();
}

}  // namespace rg
