// Reduce the learning rate when a monitored metric stops improving (PyTorch's
// ReduceLROnPlateau, as the notebook's Keras callback): after more than `patience` epochs without
// an improvement of at least `threshold` (relative), multiply the rate by `factor`, then wait
// `cooldown` epochs before counting again; never go below `min_lr`.
#pragma once

#include <limits>

namespace rg {

struct PlateauOptions {
  bool maximize = false;  // false: lower is better (a loss); true: higher is better (an AUROC)
  double factor = 0.1;
  int patience = 10;
  double threshold = 1e-4;
  int cooldown = 0;
  double min_lr = 0.0;
};

class PlateauSchedule {
 public:
  explicit PlateauSchedule(PlateauOptions options = {}) : options_(options) {}

  // Feed the epoch's metric and the current rate; returns the rate to use next.
  double step(double metric, double lr);

  // State, for checkpoints.
  double best = std::numeric_limits<double>::quiet_NaN();
  int bad_epochs = 0, cooldown_left = 0;

 private:
  PlateauOptions options_;
};

}  // namespace rg
