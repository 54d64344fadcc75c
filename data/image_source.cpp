#include "data/image_source.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/pack.h"
#include "tensor/error.h"

namespace rg::data {

namespace {

class Folder final : public ImageSource {
 public:
  explicit Folder(std::string dir) : dir_(std::move(dir)) {}
  GrayImage load(const std::string& name, int width, int height, StoredSize& stored) const override {
    const GrayImage image = decode_image(path(name));
    stored = {image.width, image.height};
    return resize_rounded(image, width, height);
  }
  void check(const LabelTable&, int, int) const override {}
  std::string describe() const override { return "folder " + dir_; }
  uint64_t stored_bytes(const std::string& name) const override {
    std::error_code error;
    const auto size = std::filesystem::file_size(path(name), error);
    return error ? 0 : uint64_t(size);
  }
  std::vector<std::string> names() const override { return image_files(dir_); }

 private:
  std::string path(const std::string& name) const { return (std::filesystem::path(dir_) / name).string(); }
  std::string dir_;
};

class Pack final : public ImageSource {
 public:
  explicit Pack(std::shared_ptr<const ImagePack> pack) : pack_(std::move(pack)) {}
  GrayImage load(const std::string& name, int width, int height, StoredSize& stored) const override {
    stored = {};  // packed resized: its own size is not kept
    check_size(width, height);
    const int64_t record = pack_->find(name);
    RG_CHECK(record >= 0, pack_->path(), ": the pack has no image ", name);
    const uint8_t* pixels = pack_->pixels(record);
    GrayImage image(width, height);
    std::copy(pixels, pixels + image.pixels.size(), image.pixels.begin());
    return image;
  }
  void check(const LabelTable& table, int width, int height) const override {
    check_size(width, height);
    int64_t missing = 0;
    std::string first;
    for (const auto& item : table.images)
      if (pack_->find(item.image) < 0 && missing++ == 0) first = item.image;
    RG_CHECK(missing == 0, pack_->path(), " lacks ", missing, " of the ", table.size(), " images ", table.source,
             " names (the first: ", first, "); pack them with roentgen pack --labels ", table.source);
    check_labels(table);
  }
  std::string describe() const override {
    return "pack " + pack_->path() + " (" + std::to_string(pack_->size()) + " images at " +
           std::to_string(pack_->width()) + "x" + std::to_string(pack_->height()) + ")";
  }
  uint64_t stored_bytes(const std::string&) const override { return uint64_t(pack_->width()) * pack_->height(); }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (int64_t r = 0; r < pack_->size(); ++r) out.emplace_back(pack_->name(r));
    return out;
  }

 private:
  // The pack keeps the labels it was made from: a table that gives an image another value for a
  // label both name is an error naming the image, the label and both files.
  void check_labels(const LabelTable& table) const {
    const auto& names = pack_->label_names();
    std::vector<std::pair<size_t, size_t>> shared;  // (the table's column, the pack's)
    for (size_t k = 0; k < table.label_names.size(); ++k) {
      const auto at = std::find(names.begin(), names.end(), table.label_names[k]);
      if (at != names.end()) shared.emplace_back(k, size_t(at - names.begin()));
    }
    if (shared.empty()) return;
    for (const auto& item : table.images) {
      const std::vector<float> packed = pack_->labels(pack_->find(item.image));
      for (const auto& [k, j] : shared)
        RG_CHECK(item.labels[k] == packed[j] || (std::isnan(item.labels[k]) && std::isnan(packed[j])), table.source,
                 " gives ", item.image, " ", table.label_names[k], " = ", item.labels[k], ", and ", pack_->path(),
                 " was packed with ", packed[j], " (from ", pack_->source(),
                 "): pack it again from this label file, or use the labels it was packed from");
    }
  }
  void check_size(int width, int height) const {
    RG_CHECK(width == pack_->width() && height == pack_->height(), pack_->path(), " holds images at ", pack_->width(),
             "x", pack_->height(), ", not the ", width, "x", height,
             " asked for (--image-size); pack them again with "
             "roentgen pack --image-size ",
             width);
  }
  std::shared_ptr<const ImagePack> pack_;
};

bool starts_with_pack_magic(const std::string& path) {
  char magic[sizeof(kPackMagic)] = {};
  std::ifstream in(path, std::ios::binary);
  return in.read(magic, sizeof(magic)) && std::equal(magic, magic + sizeof(magic), kPackMagic);
}

}  // namespace

std::vector<std::string> image_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  RG_CHECK(fs::is_directory(dir, error), dir, ": not a folder (expected a folder of images)");
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string first(kSignatureBytes, '\0');
    in.read(first.data(), std::streamsize(first.size()));
    first.resize(size_t(in.gcount()));
    if (looks_like_image(first)) names.push_back(entry.path().lexically_relative(dir).generic_string());
  }
  std::sort(names.begin(), names.end());
  RG_CHECK(!names.empty(), dir,
           ": no PNG, JPEG or DICOM file in it or its subfolders (files are told by their first bytes)");
  return names;
}

std::shared_ptr<const ImageSource> open_image_source(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::is_directory(path, error)) return std::make_shared<Folder>(path);
  RG_CHECK(fs::exists(path, error), path, ": no such folder or pack (expected a folder of images or a .rgpack file)");
  RG_CHECK(starts_with_pack_magic(path) || path.ends_with(".rgpack"), path,
           ": neither a folder of images nor a pack (its first bytes are not a pack's; make one with roentgen pack)");
  return std::make_shared<Pack>(ImagePack::open(path));
}

}  // namespace rg::data
