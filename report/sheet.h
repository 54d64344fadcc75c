// A contact sheet: the first images of a batch side by side, each stretched to 0..255 so that
// normalized inputs are visible, 4 per row.
#pragma once

#include "data/image.h"
#include "tensor/tensor.h"

namespace rg::report {

// images: [N, 3, H, W] (channel 0 is shown); at most `count` tiles of `tile` x `tile` pixels.
data::GrayImage batch_sheet(const Tensor& images, int count = 16, int tile = 160);

}  // namespace rg::report
