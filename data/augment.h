// Training-time augmentation: random horizontal flip (on by default, as in the notebook) and,
// when asked for, a small random affine transform and brightness/contrast jitter.
//
// Every random choice comes from the Generator passed in; the loader gives each image its own,
// keyed by (seed, epoch, image index), so results do not depend on threads or timing.
#pragma once

#include "data/image.h"
#include "tensor/random.h"

namespace rg::data {

struct AugmentOptions {
  bool horizontal_flip = true;    // mirror left-right with probability 1/2
  double max_rotation_deg = 0.0;  // rotate by a uniform angle in [-max, max] degrees
  double max_translation = 0.0;   // shift by up to this fraction of the width / height
  double max_zoom = 0.0;          // scale by a factor in [1 - max, 1 + max]
  double max_brightness = 0.0;    // add up to +-max * 255
  double max_contrast = 0.0;      // stretch around the image mean by a factor in [1 - max, 1 + max]

  bool any() const {
    return horizontal_flip || max_rotation_deg > 0 || max_translation > 0 || max_zoom > 0 || max_brightness > 0 ||
           max_contrast > 0;
  }
};

// A randomly augmented copy of `image`. The affine transform samples bilinearly and repeats the
// edge pixels beyond the border (Keras' fill_mode="nearest").
GrayImage augment(const GrayImage& image, const AugmentOptions& options, Generator& gen);

// Mirror image left-right.
GrayImage flip_horizontal(const GrayImage& image);

}  // namespace rg::data
