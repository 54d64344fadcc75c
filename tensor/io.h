// Reading whole files (plain or gzip-compressed, told apart by their first bytes) and writing
// files atomically: the bytes go to a temporary file beside the target, which is then renamed
// over it, so a reader never sees half a file and a crash never leaves one behind.
#pragma once

#include <string>
#include <string_view>

namespace rg {

// The file's bytes; gzip files (.gz or not) are decompressed. Throws rg::Error naming the file.
std::string read_file(const std::string& path);

// Replaces `path` with `bytes` atomically: write "path.tmp-<pid>-<n>", fsync it, rename it over
// `path`, fsync the folder. On failure the temporary is removed and the error names `path`.
// Temporaries of `path` left by processes that died while writing are removed first.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace rg
