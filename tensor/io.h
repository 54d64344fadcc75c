// Reading whole files (as they are, or gzip-decompressed when they are gzip) and writing
// files atomically: the bytes go to a temporary file beside the target, which is then renamed
// over it, so a reader never sees half a file and a crash never leaves one behind.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rg {

// The file's bytes as they are. Throws rg::Error naming the file.
std::string read_file(const std::string& path);
// The same, decompressed when the file is gzip (.gz or not, told apart by its first bytes): for
// label and prediction CSVs. More than `max_bytes` once decompressed is an error (a gzip bomb).
std::string read_file_gunzip(const std::string& path, size_t max_bytes = size_t(1) << 30);
// The bytes decompressed when they are gzip (one member or several), else as they are; `name`
// is used in messages.
std::string gunzip(const std::string& bytes, const std::string& name, size_t max_bytes = size_t(1) << 30);
// The bytes gzip-compressed (one member), as `gzip` writes them.
std::string gzip(const std::string& bytes);

// Replaces `path` with `bytes` atomically: write "path.tmp-<pid>-<n>", fsync it, rename it over
// `path`, fsync the folder. On failure the temporary is removed and the error names `path`.
// Temporaries of `path` left by processes that died while writing are removed first.
void write_file_atomic(const std::string& path, std::string_view bytes);

// The same for a file written piece by piece, too large to hold in memory (roentgen pack): the
// pieces go to the temporary at any offsets, from any threads; commit() fsyncs it and renames it
// over `path` (from one thread, after the writes). Destroyed without commit() (an error, an
// exception), the temporary is removed.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write_at(uint64_t offset, const void* data, size_t size);
  void commit();
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const char* what, int error);
  std::string path_, tmp_;
  int fd_ = -1;
};

}  // namespace rg
