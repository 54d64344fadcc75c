#include "optim/plateau.h"

#include <algorithm>
#include <cmath>

namespace rg {

double PlateauSchedule::step(double metric, double lr) {
  const bool better = std::isnan(best) || (options_.maximize ? metric > best * (1 + options_.threshold)
                                                             : metric < best * (1 - options_.threshold));
  if (better) {
    best = metric;
    bad_epochs = 0;
  } else {
    ++bad_epochs;
  }
  if (cooldown_left > 0) {
    --cooldown_left;
    bad_epochs = 0;
  }
  if (bad_epochs > options_.patience) {
    const double reduced = std::max(lr * options_.factor, options_.min_lr);
    if (lr - reduced > 1e-8) lr = reduced;
    cooldown_left = options_.cooldown;
    bad_epochs = 0;
  }
  return lr;
}

}  // namespace rg
