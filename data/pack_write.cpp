// Writing a pack (data/pack.h): threads take the next image, decode and resize it and write its
// record at the place its number gives, so the file's bytes do not depend on the threads or their
// timing; the index, names and labels follow the records, the header comes last.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "data/image_source.h"
#include <cmath>

#include "data/pack.h"
#include "tensor/error.h"
#include "tensor/io.h"

namespace rg::data {

namespace {

// The images of all the tables, each name once, in table order; a name two tables give
// different labels is an error.
LabelTable union_of(const std::vector<LabelTable>& tables) {
  RG_CHECK(!tables.empty(), "roentgen pack: no label tables given");
  LabelTable all;
  all.label_names = tables.front().label_names;
  std::unordered_map<std::string, std::pair<size_t, const LabelTable*>> seen;
  for (const LabelTable& table : tables) {
    RG_CHECK(table.label_names == all.label_names, "roentgen pack: ", table.source, " has other label columns than ",
             tables.front().source);
    for (const LabeledImage& item : table.images) {
      const auto [it, added] = seen.emplace(item.image, std::pair{all.images.size(), &table});
      if (added) {
        all.images.push_back(item);
        continue;
      }
      RG_CHECK(all.images[it->second.first].labels == item.labels, "roentgen pack: ", it->second.second->source,
               " and ", table.source, " give the image ", item.image, " different labels");
    }
  }
  RG_CHECK(!all.images.empty(), "roentgen pack: the label tables list no images");
  return all;
}

std::vector<uint8_t> to_levels(const GrayImage& image) {
  std::vector<uint8_t> levels(image.pixels.size());
  for (size_t i = 0; i < levels.size(); ++i) levels[i] = uint8_t(image.pixels[i]);  // already whole levels 0..255
  return levels;
}

// Decodes and writes every record with `threads` threads; returns each record's CRC.
std::vector<uint32_t> write_records(AtomicFile& file, const LabelTable& all, const PackOptions& o, uint64_t stride) {
  const int64_t n = int64_t(all.size());
  const auto images = open_image_source(o.image_dir);  // each image as the loader reads it from the folder
  std::vector<uint32_t> crcs(static_cast<size_t>(n));
  std::atomic<int64_t> next{0}, done{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (int64_t i; (i = next++) < n;) {
      try {
        const std::vector<uint8_t> levels = to_levels(images->load(all.images[size_t(i)].image, o.size, o.size));
        crcs[size_t(i)] = pack_crc(levels.data(), levels.size());
        file.write_at(kPackHeaderSize + uint64_t(i) * stride, levels.data(), levels.size());
        ++done;
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = n;  // the others stop after their image
      }
    }
  };
  const int count = std::max(1, o.threads);
  std::atomic<int> running{count};
  std::vector<std::thread> threads;
  for (int t = 0; t < count; ++t) threads.emplace_back([&] { work(), --running; });
  while (running > 0) {  // progress about twenty times a second
    if (o.progress) o.progress(done, n);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  if (o.progress) o.progress(n, n);
  return crcs;
}

std::string joined(const std::vector<std::string>& parts, const char* separator) {
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : separator) + part;
  return text;
}

}  // namespace

PackSummary write_pack(const std::vector<LabelTable>& tables, const PackOptions& o) {
  RG_CHECK(o.size > 0 && o.size <= 65536, "roentgen pack: image size ", o.size, " is not a size");
  const LabelTable all = union_of(tables);
  const uint64_t n = all.size(), pixels = uint64_t(o.size) * uint64_t(o.size);
  const uint64_t stride = (pixels + 63) / 64 * 64;

  AtomicFile file(o.out);
  const std::vector<uint32_t> crcs = write_records(file, all, o, stride);

  // The tail: the index, the strings (names, label names, source), the labels.
  std::vector<PackEntry> index(n);
  std::vector<std::string> names, sources;
  std::vector<uint8_t> labels;
  std::string strings;
  for (uint64_t i = 0; i < n; ++i) {
    const LabeledImage& item = all.images[i];
    index[i] = {kPackHeaderSize + i * stride, strings.size(), uint32_t(item.image.size()), crcs[i]};
    strings += item.image;
    names.push_back(item.image);
    for (float v : item.labels) labels.push_back(std::isnan(v) ? kPackMissingLabel : v > 0.5f ? 1 : 0);
  }
  for (const LabelTable& t : tables) sources.push_back(t.source);
  const std::string label_names = joined(all.label_names, "\n");
  const std::string source = "roentgen pack of " + joined(sources, ", ") + " with images from " + o.image_dir;
  strings += label_names + source;

  PackHeader h{};
  std::copy(std::begin(kPackMagic), std::end(kPackMagic), h.magic);
  h.version = kPackVersion;
  h.header_size = uint32_t(kPackHeaderSize);
  h.width = h.height = uint32_t(o.size);
  h.resize_method = kPackResizeMethod;
  h.label_count = uint32_t(all.label_names.size());
  h.record_count = n;
  h.stride = stride;
  h.data_offset = kPackHeaderSize;
  h.index_offset = kPackHeaderSize + n * stride;
  h.strings_offset = h.index_offset + n * sizeof(PackEntry);
  h.strings_size = strings.size();
  h.labels_offset = h.strings_offset + h.strings_size;
  h.file_size = h.labels_offset + labels.size();
  h.label_names_size = uint32_t(label_names.size());
  h.source_size = uint32_t(source.size());
  h.source_fingerprint = pack_fingerprint(names, labels);

  std::string tail(reinterpret_cast<const char*>(index.data()), index.size() * sizeof(PackEntry));
  tail += strings;
  tail.append(reinterpret_cast<const char*>(labels.data()), labels.size());
  h.tail_crc = pack_crc(tail.data(), tail.size());
  h.header_crc = pack_crc(&h, offsetof(PackHeader, header_crc));
  file.write_at(h.index_offset, tail.data(), tail.size());
  std::string header(kPackHeaderSize, '\0');
  std::memcpy(header.data(), &h, sizeof(h));
  file.write_at(0, header.data(), header.size());
  file.commit();
  return {int64_t(n), h.file_size};
}

}  // namespace rg::data
