// The safetensors reader and writer, and every way a file can be broken.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "data_helpers.h"
#include "helpers.h"
#include "tensor/io.h"
#include "tensor/safetensors.h"

using namespace rg;
using doctest::Contains;

namespace {

// A file from a header text and data bytes.
std::string file_of(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

}  // namespace

TEST_CASE("safetensors: every dtype, 0-d tensors and metadata survive a round trip") {
  test::TempDir dir;
  const Tensor f = from_vector({1.5, -2, 3, 4, 5, 6}, {2, 3});
  const Tensor d = from_vector({0.25}, {1}, DType::Float64);
  const Tensor u = from_vector({0, 255}, {2}, DType::UInt8);
  const Tensor i = from_vector({42}, {}, DType::Int64);
  const Tensor strided = rg::view_untracked(f, {3, 2}, {1, 3}, 0);  // a transposed view is written in order
  write_safetensors(dir.file("a.safetensors"), {{"f", f}, {"d", d}, {"u", u}, {"i", i}, {"t", strided}},
                    {{"architecture", "densenet121"}});
  const SafeTensors back = read_safetensors(dir.file("a.safetensors"));
  CHECK(back.tensors.size() == 5);
  CHECK(back.metadata.at("architecture") == "densenet121");
  CHECK(back.find("f").to_vector<float>() == f.to_vector<float>());
  CHECK(back.find("d").dtype() == DType::Float64);
  CHECK(back.find("u").to_vector<int>() == std::vector<int>{0, 255});
  CHECK(back.find("i").shape() == Shape{});
  CHECK(back.find("i").item<int64_t>() == 42);
  CHECK(back.find("t").to_vector<float>() == std::vector<float>{1.5, 4, -2, 5, 3, 6});
  CHECK_FALSE(back.find("nope").defined());
  // The header length is a multiple of 8, as the format recommends.
  uint64_t n = 0;
  std::memcpy(&n, read_file(dir.file("a.safetensors")).data(), 8);
  CHECK(n % 8 == 0);
}

TEST_CASE("safetensors: broken files are errors that say what is wrong") {
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string eight(8, '\0');
  CHECK_NOTHROW(parse_safetensors(file_of(ok_header, eight), "m"));
  CHECK_THROWS_WITH_AS(parse_safetensors("abc", "m"), Contains("m: truncated safetensors file (3 bytes"), Error);
  CHECK_THROWS_WITH_AS(parse_safetensors(file_of(ok_header, eight).substr(0, 20), "m"),
                       Contains("m: truncated safetensors file: header of"), Error);
  CHECK_THROWS_WITH_AS(parse_safetensors(file_of("{not json", ""), "m"),
                       Contains("m: bad safetensors header (not JSON)"), Error);
  CHECK_THROWS_WITH_AS(
      parse_safetensors(file_of(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", "1234"), "m"),
      Contains("m: tensor 'a': unsupported dtype F16"), Error);
  CHECK_THROWS_WITH_AS(
      parse_safetensors(file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", eight), "m"),
      Contains("m: tensor 'a': 8 bytes for shape [1] F32, expected 4"), Error);
  CHECK_THROWS_WITH_AS(
      parse_safetensors(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", eight), "m"),
      Contains("m: tensor 'a': data_offsets [8, 16] out of range (the data section has 8 bytes)"), Error);
  // Shapes whose byte size overflows or exceeds the data are refused before any allocation.
  CHECK_THROWS_WITH_AS(
      parse_safetensors(file_of(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", ""),
                        "m"),
      Contains(
          "m: tensor 'a': shape [4294967296,4294967296] F32 needs more bytes than the file's data section has (0)"),
      Error);
  CHECK_THROWS_WITH_AS(
      parse_safetensors(file_of(R"({"a":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", eight),
                        "m"),
      Contains("needs more bytes than the file's data section has (8)"), Error);
  CHECK_THROWS_WITH_AS(
      parse_safetensors(file_of(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", ""), "m"),
      Contains("m: tensor 'a': bad shape entry -1"), Error);
  CHECK_THROWS_WITH_AS(
      parse_safetensors(file_of(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}})", ""), "m"),
      Contains("m: tensor 'a': bad shape entry 1.5"), Error);
  // A header over safetensors' 100 MB limit is refused before it is read.
  std::string huge(16, '\0');
  const uint64_t announced = 100'000'001;
  std::memcpy(huge.data(), &announced, 8);
  CHECK_THROWS_WITH_AS(parse_safetensors(huge, "m"),
                       Contains("m: safetensors header of 100000001 bytes announced, more than the 100000000"), Error);
  // Model files are read as they are, never gunzipped.
  CHECK_THROWS_WITH_AS(parse_safetensors(std::string("\x1f\x8b\x08\0\0\0\0\0\0\0", 10), "m.gz"),
                       Contains("m.gz: is gzip-compressed; safetensors files are read as they are"), Error);
  CHECK_THROWS_WITH_AS(parse_safetensors(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                                 R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                                 eight),
                                         "m"),
                       Contains("overlaps the data of another tensor"), Error);
  CHECK_THROWS_WITH_AS(
      parse_safetensors(file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight), "m"),
      Contains("m: bytes 0..4 of the data section belong to no tensor"), Error);
  CHECK_THROWS_WITH_AS(parse_safetensors(file_of(R"({"a":{"dtype":"F32","shape":[1]}})", ""), "m"),
                       Contains("m: tensor 'a': expected dtype, shape and data_offsets"), Error);
  CHECK_THROWS_WITH_AS(parse_safetensors(file_of(R"({"__metadata__":{"k":1}})", ""), "m"),
                       Contains("__metadata__ value of 'k' is not a string"), Error);
  CHECK_THROWS_WITH_AS(read_safetensors("/nonexistent/model.safetensors"),
                       Contains("/nonexistent/model.safetensors: cannot open"), Error);
}

TEST_CASE("atomic writes: temporaries of dead writers are removed, failures name the file and leave nothing") {
  test::TempDir dir;
  const std::string path = dir.file("last.safetensors");
  // A process id that is not running: a writer killed mid-write left its temporary behind.
  pid_t dead = 4194000;
  while (::kill(dead, 0) == 0 || errno != ESRCH) --dead;
  const std::string stale = path + ".tmp-" + std::to_string(dead) + "-3";
  const std::string alive = path + ".tmp-" + std::to_string(getpid()) + "-999";               // ours: still writing
  const std::string other = dir.file("best.safetensors.tmp-" + std::to_string(dead) + "-0");  // another file's
  for (const std::string& f : {stale, alive, other}) write_file_atomic(f, "x");
  write_file_atomic(path, "bytes");
  CHECK(read_file(path) == "bytes");
  CHECK_FALSE(std::filesystem::exists(stale));
  CHECK(std::filesystem::exists(alive));
  CHECK(std::filesystem::exists(other));
  // Writing into a folder that does not exist: an error naming the file, no temporary left.
  CHECK_THROWS_WITH_AS(write_file_atomic(dir.file("missing/x.bin"), "b"),
                       doctest::Contains("missing/x.bin: cannot create"), Error);
  std::filesystem::remove(alive);
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir.str())) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{"best.safetensors.tmp-" + std::to_string(dead) + "-0", "last.safetensors"});
}
