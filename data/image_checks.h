// Input checks. The failure users report most is a model fed images unlike its training images
// (an inverted film, a blank frame, a washed-out export). Each image is measured as the loader
// gives it to the model — at the model's input size, whole gray levels 0..255, before
// normalization:
//   lung contrast  (mean of the two lung fields - mean of the mediastinum) / the image's std, the
//                  fields at 18-38% and 62-82% of the width, the mediastinum at 45-55%, both at
//                  25-60% of the height. Negative on a chest film as viewers show it (dark lungs,
//                  bright spine): median -1.14 over the NIH sample's 621 images resized to 224 px
//                  by PIL (98% negative), -1.46 on the synthetic films; an inverted film has the
//                  other sign. Against these medians, 1 of the 621 is flagged as inverted.
//   range          the 99th minus the 1st percentile of the gray levels
//   std            of the gray levels
// Against the training images' profile (the model file records it; models without one are
// compared with the NIH sample's: lung contrast -1.14, range 229), an image is
//   inverted       when its lung contrast has the other sign and at least half the magnitude
//   flat           when its std is under 4 gray levels (nearly uniform)
//   low contrast   when its range is under a third of the training images'
//   small          when its file is under half the model's input on a side (unknown for a pack)
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/image_source.h"

namespace rg::data {

struct ImageStats {
  double lung_contrast = 0, range = 0, std = 0;
};
ImageStats image_stats(const GrayImage& image);

// The training images' medians; `images` 0: none recorded.
struct IntensityProfile {
  int64_t images = 0;
  double lung_contrast = -1.14, range = 229;  // the NIH sample's, when none is recorded

  static IntensityProfile of(const std::vector<ImageStats>& stats);
  std::string to_json() const;
  static IntensityProfile from_json(const std::string& text, const std::string& path);  // errors name `path`
};

enum class InputIssue { kInverted, kFlat, kLowContrast, kSmall };
// `image` at the model's input size; `stored`: its file's own size (0 x 0: unknown).
std::vector<InputIssue> input_issues(const GrayImage& image, StoredSize stored, const IntensityProfile& profile);

// Counts each issue over a run's images (from any thread), and says so once at the end.
class InputChecks {
 public:
  explicit InputChecks(IntensityProfile profile) : profile_(profile) {}
  void add(const std::string& image, const GrayImage& pixels, StoredSize stored);
  // One line per issue found: "3 of 40 images look inverted ... (the first: x.png)"; none when clean.
  std::vector<std::string> warnings() const;

 private:
  IntensityProfile profile_;
  mutable std::mutex mutex_;
  int64_t images_ = 0;
  std::array<int64_t, 4> counts_{};
  std::array<std::string, 4> first_;
};

}  // namespace rg::data
