// Reading a pack (data/pack.h): the header and the index checked when it opens, every record's
// CRC the first time it is read. A bad file is an rg::Error naming the file, the record and what
// is wrong, never a crash: the file's size is checked against the header's before it is mapped
// (reading a mapping past the end of its file raises SIGBUS).
#include "data/pack.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "tensor/error.h"

namespace rg::data {

static_assert(std::endian::native == std::endian::little, "a pack is little-endian, as is this machine's memory");

uint32_t pack_crc(const void* data, size_t size) {
  uLong crc = crc32(0, nullptr, 0);
  const auto* bytes = static_cast<const Bytef*>(data);
  while (size > 0) {  // zlib takes at most 4 GiB at a time
    const uInt chunk = uInt(std::min<size_t>(size, size_t(1) << 30));
    crc = crc32(crc, bytes, chunk);
    bytes += chunk, size -= chunk;
  }
  return uint32_t(crc);
}

uint64_t pack_fingerprint(const std::vector<std::string>& names, const std::vector<uint8_t>& labels) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](const void* data, size_t size) {
    for (size_t i = 0; i < size; ++i) h = (h ^ static_cast<const uint8_t*>(data)[i]) * 0x100000001b3ull;
  };
  for (const auto& name : names) mix(name.c_str(), name.size() + 1);
  mix(labels.data(), labels.size());
  return h;
}

ImagePack::ImagePack(std::string path, const uint8_t* bytes, uint64_t size)
    : path_(std::move(path)), bytes_(bytes), size_(size) {}

ImagePack::~ImagePack() {
  if (mapping_) munmap(mapping_, size_);
}

std::shared_ptr<const ImagePack> ImagePack::parse(std::string bytes, const std::string& name) {
  std::shared_ptr<ImagePack> pack(new ImagePack(name, nullptr, bytes.size()));
  pack->owned_ = std::move(bytes);
  pack->bytes_ = reinterpret_cast<const uint8_t*>(pack->owned_.data());
  pack->check_layout();
  pack->read_index();
  return pack;
}

std::shared_ptr<const ImagePack> ImagePack::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  RG_CHECK(fd >= 0, path, ": cannot open the pack: ", std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file (expected a .rgpack pack)");
  }
  // The header, read (not mapped) first: the size it declares must be the file's before mapping.
  PackHeader header{};
  const ssize_t got = st.st_size >= ssize_t(sizeof(header)) ? pread(fd, &header, sizeof(header), 0) : 0;
  if (got != ssize_t(sizeof(header))) {
    ::close(fd);
    throw Error(path + ": truncated pack: " + std::to_string(st.st_size) + " bytes, less than its header");
  }
  std::shared_ptr<ImagePack> pack(new ImagePack(path, nullptr, uint64_t(st.st_size)));
  pack->header_ = header;
  try {
    pack->check_layout();  // before mapping: the size the header declares is the file's
  } catch (...) {
    ::close(fd);
    throw;
  }
  void* mapping = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  const int error = errno;
  ::close(fd);
  RG_CHECK(mapping != MAP_FAILED, path, ": cannot map the pack: ", std::strerror(error));
  pack->mapping_ = mapping;
  pack->bytes_ = static_cast<const uint8_t*>(mapping);
  pack->read_index();
  return pack;
}

// The header's fields, each against the file's size and the others: what open() and parse()
// check before touching anything past the header.
void ImagePack::check_layout() {
  RG_CHECK(size_ >= sizeof(PackHeader), path_, ": truncated pack: ", size_, " bytes, less than its header");
  if (bytes_) std::memcpy(&header_, bytes_, sizeof(header_));
  const PackHeader& h = header_;
  RG_CHECK(std::memcmp(h.magic, kPackMagic, sizeof(kPackMagic)) == 0, path_,
           ": not a roentgen pack (its first bytes are not \"RGPACK\"); make one with roentgen pack");
  RG_CHECK(h.version == kPackVersion, path_, ": pack format version ", h.version, "; this roentgen reads version ",
           kPackVersion, " (pack the images again)");
  RG_CHECK(pack_crc(&h, offsetof(PackHeader, header_crc)) == h.header_crc, path_,
           ": the header's CRC does not match (the header is corrupt)");
  RG_CHECK(h.file_size == size_, path_, ": truncated or extended pack: the header says ", h.file_size,
           " bytes, the file has ", size_);
  RG_CHECK(h.header_size == kPackHeaderSize && h.data_offset == kPackHeaderSize, path_, ": header size ", h.header_size,
           " and data offset ", h.data_offset, ", expected ", kPackHeaderSize);
  RG_CHECK(h.resize_method == kPackResizeMethod, path_, ": records made by resize method ", h.resize_method,
           "; this roentgen resizes by method ", kPackResizeMethod, " (pack the images again)");
  RG_CHECK(h.width > 0 && h.height > 0 && h.width <= 65536 && h.height <= 65536, path_, ": image size ", h.width, "x",
           h.height, " is not a size");
  const uint64_t pixels = uint64_t(h.width) * h.height;
  RG_CHECK(h.stride >= pixels && h.stride % 64 == 0 && h.stride - pixels < 64, path_, ": record stride ", h.stride,
           " does not fit ", h.width, "x", h.height, " pixels rounded up to 64 bytes");
  // The sections follow one another: records, index, strings, labels, end of file. Each bound is
  // checked against the file's size before it is multiplied, so nothing overflows.
  const uint64_t n = h.record_count, records_end = h.index_offset;
  RG_CHECK(n <= size_ / (h.stride + sizeof(PackEntry)) && records_end == h.data_offset + n * h.stride, path_,
           ": index offset ", h.index_offset, " is not after ", n, " records of ", h.stride, " bytes");
  RG_CHECK(h.strings_offset == h.index_offset + n * sizeof(PackEntry), path_, ": strings offset ", h.strings_offset,
           " is not after the index of ", n, " entries");
  RG_CHECK(h.strings_size <= size_ && h.labels_offset == h.strings_offset + h.strings_size, path_, ": labels offset ",
           h.labels_offset, " is not after ", h.strings_size, " bytes of strings");
  RG_CHECK(h.label_count <= 4096 && h.labels_offset + n * h.label_count == h.file_size, path_, ": ", n, " records of ",
           h.label_count, " labels do not end the file at ", h.file_size, " bytes");
  RG_CHECK(uint64_t(h.label_names_size) + h.source_size <= h.strings_size, path_, ": label names (", h.label_names_size,
           " bytes) and source (", h.source_size, " bytes) overrun the strings (", h.strings_size, " bytes)");
}

const PackEntry& ImagePack::entry(int64_t record) const {
  RG_CHECK(record >= 0 && record < size(), path_, ": record ", record, " of ", size(), " records");
  return reinterpret_cast<const PackEntry*>(bytes_ + header_.index_offset)[record];
}

// The index and the names: the tail's CRC, each entry within the records and the names, no name
// twice. Then the name -> record table.
void ImagePack::read_index() {
  const PackHeader& h = header_;
  RG_CHECK(pack_crc(bytes_ + h.index_offset, h.file_size - h.index_offset) == h.tail_crc, path_,
           ": the CRC of the index, names and labels does not match (they are corrupt)");
  const char* strings = reinterpret_cast<const char*>(bytes_ + h.strings_offset);
  const uint64_t names_end = h.strings_size - h.label_names_size - h.source_size;
  const std::string_view label_text(strings + names_end, h.label_names_size);
  for (size_t start = 0; start < label_text.size();) {
    const size_t end = std::min(label_text.find('\n', start), label_text.size());
    label_names_.emplace_back(label_text.substr(start, end - start));
    start = end + 1;
  }
  RG_CHECK(label_names_.size() == h.label_count, path_, ": ", label_names_.size(), " label names for ", h.label_count,
           " labels");
  by_name_.reserve(size_t(size()));
  for (int64_t i = 0; i < size(); ++i) {
    const PackEntry& e = entry(i);
    RG_CHECK(e.offset >= h.data_offset && e.offset % 64 == 0 && e.offset <= h.index_offset - h.stride, path_,
             ": record ", i, "'s offset ", e.offset, " is outside the records (", h.data_offset, " to ", h.index_offset,
             ", 64-byte aligned)");
    RG_CHECK(e.name_size > 0 && e.name_offset <= names_end && e.name_size <= names_end - e.name_offset, path_,
             ": record ", i, "'s name (", e.name_size, " bytes at ", e.name_offset, ") is outside the names");
    const std::string_view name(strings + e.name_offset, e.name_size);
    const auto [it, added] = by_name_.emplace(name, i);
    RG_CHECK(added, path_, ": the image name '", name, "' is in records ", it->second, " and ", i);
  }
  checked_ = std::make_unique<std::atomic<bool>[]>(size_t(size()));
}

std::string_view ImagePack::source() const {
  const char* strings = reinterpret_cast<const char*>(bytes_ + header_.strings_offset);
  return {strings + header_.strings_size - header_.source_size, header_.source_size};
}

std::string_view ImagePack::name(int64_t record) const {
  const PackEntry& e = entry(record);
  return {reinterpret_cast<const char*>(bytes_ + header_.strings_offset + e.name_offset), e.name_size};
}

std::vector<float> ImagePack::labels(int64_t record) const {
  (void)entry(record);  // checks the number
  const uint8_t* row = bytes_ + header_.labels_offset + uint64_t(record) * header_.label_count;
  std::vector<float> labels(row, row + header_.label_count);
  for (float& v : labels)
    if (v == kPackMissingLabel) v = kMissing;
  return labels;
}

int64_t ImagePack::find(std::string_view image) const {
  const auto it = by_name_.find(image);
  return it == by_name_.end() ? -1 : it->second;
}

void ImagePack::check_record(int64_t record) const {
  const PackEntry& e = entry(record);
  const uint32_t crc = pack_crc(bytes_ + e.offset, size_t(header_.width) * header_.height);
  RG_CHECK(crc == e.crc, path_, ": record ", record, " (", name(record), ") is corrupt: its CRC is ", crc,
           ", the index says ", e.crc, " (pack the images again)");
  checked_[size_t(record)].store(true, std::memory_order_release);
}

const uint8_t* ImagePack::pixels(int64_t record) const {
  const PackEntry& e = entry(record);
  if (!checked_[size_t(record)].load(std::memory_order_acquire)) check_record(record);
  return bytes_ + e.offset;
}

void ImagePack::verify() const {
  for (int64_t i = 0; i < size(); ++i) check_record(i);
}

}  // namespace rg::data
