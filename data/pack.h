// The packed image store, a .rgpack file: the images of some label tables decoded once, resized
// to the model's size and rounded to whole gray levels (resize_rounded, data/image.h), in one
// flat file that the loader maps into memory and reads without decoding.
//
//   0                 the header, 4096 bytes (PackHeader, then zeros)
//   data_offset       the records: width * height uint8 pixels each ([height, width]), padded
//                     with zeros to `stride` bytes (a multiple of 64), record i at the offset its
//                     index entry gives (the writer puts it at data_offset + i * stride)
//   index_offset      the index: one PackEntry per record
//   strings_offset    the image names (the entries point into them), the label names joined by
//                     '\n', and a line saying what the pack was made from
//   labels_offset     the labels, uint8 [records, labels], 0 or 1, or kPackMissingLabel (255)
//
// All numbers are little-endian. The header carries its own CRC-32 and one over the index, the
// strings and the labels; every record carries its CRC-32 in its entry, checked the first time
// the record is read (or all at once by verify()). The labels are read back: a label table the
// pack is used with (data/image_source.cpp) that gives an image another value for a label both
// name is refused, naming the image, the label and both files; `roentgen pack --verify` prints
// the fingerprint and the source line.
//
// Why not LMDB, as Caffe's convert_imageset writes? The records are all one size and written
// once, so record i's place is arithmetic: a database's B-tree, map size, lock file, reader table
// and transactions would buy nothing here, and one file is easy to check, copy and share.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/labels.h"

namespace rg::data {

inline constexpr char kPackMagic[8] = {'R', 'G', 'P', 'A', 'C', 'K', '\r', '\n'};
inline constexpr uint32_t kPackVersion = 1;
inline constexpr uint64_t kPackHeaderSize = 4096;
// How the records were made: 1 = resize_rounded (area averaging down, bilinear up, rounded).
inline constexpr uint32_t kPackResizeMethod = 1;

struct PackHeader {
  char magic[8];
  uint32_t version, header_size;
  uint32_t width, height;
  uint32_t resize_method, label_count;
  uint64_t record_count, stride;
  uint64_t data_offset, index_offset;
  uint64_t strings_offset, strings_size;
  uint64_t labels_offset, file_size;
  uint32_t label_names_size, source_size;  // the last two parts of the strings
  uint64_t source_fingerprint;             // FNV-1a of the names and labels, in record order
  uint32_t tail_crc;                       // CRC-32 of the index, the strings and the labels
  uint32_t header_crc;                     // CRC-32 of the header's bytes before this field
};
static_assert(sizeof(PackHeader) == 120, "PackHeader's layout is the file's");

struct PackEntry {
  uint64_t offset;       // the record's first byte
  uint64_t name_offset;  // into the strings
  uint32_t name_size;
  uint32_t crc;  // CRC-32 of the record's width * height pixels
};
static_assert(sizeof(PackEntry) == 24, "PackEntry's layout is the file's");

// A pack, read-only: mapped from a file (open) or held in memory (parse, for tests and fuzzing).
// The header, the index and the names are checked when it opens; a record when first read.
class ImagePack {
 public:
  static std::shared_ptr<const ImagePack> open(const std::string& path);
  static std::shared_ptr<const ImagePack> parse(std::string bytes, const std::string& name);
  ~ImagePack();

  const std::string& path() const { return path_; }
  int width() const { return int(header_.width); }
  int height() const { return int(header_.height); }
  int64_t size() const { return int64_t(header_.record_count); }
  const PackHeader& header() const { return header_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  std::string_view source() const;  // what it was made from
  std::string_view name(int64_t record) const;
  std::vector<float> labels(int64_t record) const;
  // The record holding `image`, or -1.
  int64_t find(std::string_view image) const;
  // Record `record`'s pixels [height, width]; its CRC is checked the first time it is read.
  const uint8_t* pixels(int64_t record) const;
  // Checks every record's CRC (roentgen pack --verify).
  void verify() const;

 private:
  ImagePack(std::string path, const uint8_t* bytes, uint64_t size);
  void check_layout();
  void read_index();
  void check_record(int64_t record) const;
  const PackEntry& entry(int64_t record) const;

  std::string path_;
  const uint8_t* bytes_ = nullptr;  // the whole file
  uint64_t size_ = 0;
  void* mapping_ = nullptr;  // when mapped: munmap'ed by the destructor
  std::string owned_;        // when parsed: the bytes
  PackHeader header_{};
  std::vector<std::string> label_names_;
  std::unordered_map<std::string_view, int64_t> by_name_;
  std::unique_ptr<std::atomic<bool>[]> checked_;  // per record: its CRC was checked
};

// What roentgen pack makes: every image of `tables` (each name once, in table order), decoded
// from `image_dir`, resized to size x size, into `out`, written by `threads` threads to a
// temporary and renamed into place. The file is the same bytes for any thread count.
struct PackOptions {
  std::string image_dir, out;
  int size = 320;
  int threads = 1;
  // Called from one thread as images are done: (images done, images in all).
  std::function<void(int64_t, int64_t)> progress;
};
struct PackSummary {
  int64_t images = 0;
  uint64_t bytes = 0;
};
PackSummary write_pack(const std::vector<LabelTable>& tables, const PackOptions& options);

// The CRC-32 (zlib's) of `size` bytes, and the FNV-1a fingerprint of what a pack holds.
uint32_t pack_crc(const void* data, size_t size);
// A missing label (data/labels.h's kMissing) as the pack stores it.
inline constexpr uint8_t kPackMissingLabel = 255;
uint64_t pack_fingerprint(const std::vector<std::string>& names, const std::vector<uint8_t>& labels);

}  // namespace rg::data
