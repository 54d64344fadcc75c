// What training, validation and prediction (train/trainer.h) need of a model: a Module that
// scores every image for each class. DenseNet is one; a model of another family derives from
// Classifier and trains in the same loop.
#pragma once

#include "layers/module.h"

namespace rg {

class Classifier : public Module {
 public:
  // Class scores before the sigmoid: [N, 3, H, W] -> [N, num_classes()].
  virtual Tensor logits(const Tensor& images) = 0;
  virtual int64_t num_classes() const = 0;
};

}  // namespace rg
