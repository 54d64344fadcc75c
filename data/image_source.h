// Where the loader's images come from: a folder of PNG/JPEG files, decoded and resized at every
// read, or a pack (data/pack.h) holding them decoded and resized once. For one name both give
// the same pixels: resize_rounded(decode_image(folder / name)) (data/image.h).
//
//   auto images = open_image_source("nih-320.rgpack");   // or a folder: "images/"
//   GrayImage x = images->load("00000001_000.png", 320, 320);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/labels.h"

namespace rg::data {

// An image's own size, as its file has it; 0 x 0 where it is not known (a pack keeps only the
// resized image).
struct StoredSize {
  int width = 0, height = 0;
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // The image `name` at width x height, whole gray levels 0..255. Throws rg::Error naming the
  // file or the record when it is missing or bad.
  GrayImage load(const std::string& name, int width, int height) const {
    StoredSize ignored;
    return load(name, width, height, ignored);
  }
  // The same, telling the size the image is stored at (for the input checks, data/image_checks.h).
  virtual GrayImage load(const std::string& name, int width, int height, StoredSize& stored) const = 0;
  // Refuses, before any work, a source that cannot give `table`'s images at width x height: a
  // pack made at another size, or missing images the table names. A folder's files are checked
  // as they are read.
  virtual void check(const LabelTable& table, int width, int height) const = 0;
  // "folder DIR" or "pack FILE (N images at SxS)".
  virtual std::string describe() const = 0;
  // The bytes read to load `name` (its file's size, or its record's): for the loader benchmark.
  virtual uint64_t stored_bytes(const std::string& name) const = 0;
  // Every image it holds, as load() names them: a folder's image files (image_files, below), a
  // pack's records in their order.
  virtual std::vector<std::string> names() const = 0;
};

// A folder, or a pack (a file starting with the pack's magic). Anything else is an error.
std::shared_ptr<const ImageSource> open_image_source(const std::string& path);

// Every image file under the folder `dir`, subfolders included, told by its first bytes
// (looks_like_image: other files are passed over), as paths relative to `dir` ("a/x.png"),
// sorted. An error naming `dir` when it is not a folder or holds no image.
std::vector<std::string> image_files(const std::string& dir);

}  // namespace rg::data
