// The training recipe: the defaults of `roentgen train` and example_chestxray alike.
//
// From random weights on the NIH sample's 400 training images at 224 px it reached a test mean
// AUROC of 0.620 in 17 minutes on 2 cores, PyTorch with the same recipe 0.629
// (bench/compare_training.py; bench/RESULTS.md, "training from scratch beside PyTorch"), where
// batch 8 and Adam at 1e-4 (with the notebook's normalization at evaluation) had scored 0.52.
// min_epochs keeps the first epochs, whose validation loss on 71 images often wins by noise, from
// being chosen.
#pragma once

namespace rg {

struct Recipe {
  int epochs = 5;
  int min_epochs = 3;  // the best epoch, and early stopping, only from this epoch on
  int batch_size = 16;
  double lr = 1e-3;  // Adam's
  int image_size = 224;
};
inline constexpr Recipe kRecipe;

}  // namespace rg
