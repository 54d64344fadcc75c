#include "report/sheet.h"

#include <algorithm>

namespace rg::report {

data::GrayImage batch_sheet(const Tensor& images, int count, int tile) {
  RG_CHECK(images.dim() == 4, "batch_sheet: expected images [N, C, H, W], got ", shape_str(images.shape()));
  const int n = int(std::min<int64_t>(count, images.size(0)));
  const int h = int(images.size(2)), w = int(images.size(3));
  data::GrayImage sheet(4 * tile, std::max(1, (n + 3) / 4) * tile);
  const auto pixels = images.to_vector<float>();
  for (int k = 0; k < n; ++k) {
    data::GrayImage img(w, h);
    const auto first = pixels.begin() + int64_t(k) * images.size(1) * h * w;
    std::copy(first, first + int64_t(h) * w, img.pixels.begin());
    const auto [lo, hi] = std::minmax_element(img.pixels.begin(), img.pixels.end());
    const float low = *lo, range = std::max(1e-6f, *hi - *lo);
    for (float& v : img.pixels) v = 255.0f * (v - low) / range;
    const data::GrayImage small = data::resize(img, tile, tile);
    for (int y = 0; y < tile; ++y)
      for (int x = 0; x < tile; ++x) sheet.at((k % 4) * tile + x, (k / 4) * tile + y) = small.at(x, y);
  }
  return sheet;
}

}  // namespace rg::report
