// What the training tests train on: a tiny DenseNet and a small synthetic dataset at 32 px
// (train_tests and distributed_tests; every rank of the latter writes its own identical copy).
#pragma once

#include "data/labels.h"
#include "data/synthetic.h"
#include "data_helpers.h"
#include "losses/class_frequencies.h"
#include "models/densenet.h"
#include "models/model_file.h"

namespace rg::test {

// Named 121 so model files load back.
inline const DenseNetConfig kTinyDenseNet{
    .name = "densenet121", .growth = 4, .blocks = {2, 2}, .init_features = 8, .bn_size = 2, .num_classes = 14};

struct TrainingData {
  TempDir data;
  data::LabelTable train, valid;
  ClassWeights weights;
  ModelInfo info;
  TrainingData() {
    data::write_synthetic_dataset(
        data.str(), {.patients = 14, .max_images_per_patient = 2, .size = 32, .seed = 3, .prevalence_scale = 4.0});
    train = data::read_labels(data.file("train.csv"));
    valid = data::read_labels(data.file("valid.csv"));
    weights = class_weights(compute_class_freqs(train.label_matrix()));
    info.labels = train.label_names;
    info.image_size = 32;
  }
};

}  // namespace rg::test
