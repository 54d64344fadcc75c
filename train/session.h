// Everything around the training loop that `roentgen train` and example_chestxray share: read
// the label files, measure the normalization, compute the class weights, build (or load) the
// model, make the loaders, train.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/image_source.h"
#include "data/labels.h"
#include "data/merge.h"
#include "data/normalize.h"
#include "metrics/decisions.h"
#include "train/trainer.h"

namespace rg {

struct SessionOptions {
  std::string train_csv, valid_csv;
  std::string images;  // a folder of PNG/JPEG/DICOM files or a .rgpack pack (roentgen pack)
  // Or several datasets, each a label file and its images (data/merge.h), merged into one table
  // for training and one for validation; then train_csv, valid_csv and images are not used.
  std::vector<data::DatasetSpec> train_datasets, valid_datasets;
  std::string weights;              // a model file to start from (e.g. converted ImageNet weights); empty: random init
  std::shared_ptr<DenseNet> model;  // or a model built by the caller (another configuration, weights of any origin)
  std::string architecture;         // densenet121 (the default), densenet121-se, ...; with weights: the file's
  int image_size = kRecipe.image_size;
  int batch_size = kRecipe.batch_size;
  int threads = 2;    // decoding threads; `roentgen train` and the example size the compute pool by it too
  int64_t limit = 0;  // at most this many images per split (0: all)
  uint64_t seed = 0;
  bool augment = true;  // random horizontal flips in training; false: the images as they are
  bool shuffle = true;  // a new seeded order every epoch; false: batches in file order
  // How validation, test and the saved model normalize images. false (the default): per image, as
  // training does. true: the notebook's mix — per image in training, but a dataset mean/std
  // measured on 100 training images for validation, test and prediction.
  bool notebook_normalization = false;
  // The tables are checked before any work (data/leakage.h:check_training_tables): a patient in
  // both is an error unless this is set (then a warning among the notes).
  bool allow_patient_overlap = false;
  // The model file records the training and validation patients as salted hashes
  // (models/patient_record.h), so scoring them later is noticed; false leaves the record out.
  bool patient_record = true;
  // How the decision threshold of each label is chosen on the validation set at the end of
  // training and stored in best.safetensors (models/operating_points.h).
  metrics::OperatingRule operating_point;
};

struct Session {
  data::LabelTable train, valid;
  std::shared_ptr<const data::ImageSource> images;
  data::Normalization train_normalization = data::Normalization::sample();  // the notebook's training generator
  data::Normalization eval_normalization;  // validation/test/prediction: see notebook_normalization
  ClassWeights weights;
  ModelInfo info;
  std::shared_ptr<DenseNet> model;
  std::vector<std::string> notes;  // what happened on the way (random init, a re-initialized head, ...)
};

// Reads the data, checks the tables for leakage, and prepares the model; no training yet.
Session prepare_session(const SessionOptions& options);

// Loaders for training (shuffled and augmented with random flips, unless turned off) and
// validation, then train(); then, when training ended well, the best epoch's model chooses its
// operating points on the validation set, records the training images' intensity profile
// (data/image_checks.h), and best.safetensors is saved with them (and session.info has them).
TrainResult run_session(Session& session, const SessionOptions& options, const TrainOptions& train_options);

// The first `limit` images of a table (all when limit is 0).
data::LabelTable first_images(data::LabelTable table, int64_t limit);

}  // namespace rg
