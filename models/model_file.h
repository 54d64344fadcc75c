// The model file: a safetensors file holding the full state dict (torchvision names) and, in
// __metadata__, what is needed to use it:
//   architecture   densenet121 | densenet169 | densenet201
//   labels         output names, comma-separated, in output order
//   image_size     the input size the model was trained at (square)
//   normalization  sample | imagenet | dataset:<mean>,<std>
//   bn_eps         batch norm epsilon (1e-5 for torchvision weights, 1.001e-5 for Keras')
//   patients_salt, patients_train, patients_valid   (optional) the patients it was trained and
//                  validated on, as salted hashes (models/patient_record.h): the salt, then each
//                  set's 16-hex-digit hashes one after another
//   operating_points (optional) each label's decision threshold and how it was chosen, as JSON
//                  (models/operating_points.h)
//   intensity_profile (optional) what the training images looked like, for the input checks, as
//                  JSON (data/image_checks.h)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/image_checks.h"
#include "data/normalize.h"
#include "models/densenet.h"
#include "models/operating_points.h"
#include "models/patient_record.h"
#include "tensor/safetensors.h"

namespace rg {

struct ModelInfo {
  std::string architecture = "densenet121";
  std::vector<std::string> labels;
  int64_t image_size = 320;
  std::string normalization = "sample";
  double bn_eps = 1e-5;
  PatientRecord patients;            // empty: none (converted weights, or trained with --no-patient-record)
  OperatingPoints operating_points;  // empty: none (decisions are refused, never made at 0.5)
  data::IntensityProfile intensity;  // images 0: none recorded (checks compare with NIH's)

  std::map<std::string, std::string> to_metadata() const;
  // Reads and checks the metadata of `file` (named `path` in messages).
  static ModelInfo from_metadata(const std::map<std::string, std::string>& metadata, const std::string& path);
};

// Writes model + info atomically.
void save_model(const std::string& path, const Classifier& model, const ModelInfo& info);

// The model file inside a training checkpoint (train/trainer.h's last.safetensors): its weights and
// metadata without the optimizer's state. Given a checkpoint, load_model says to use this.
void export_checkpoint(const std::string& checkpoint, const std::string& path);

enum class HeadPolicy {
  Strict,  // the file's classifier must match the labels
  Reinit,  // a classifier of another size (e.g. ImageNet's 1000 classes) is dropped and re-initialized
};

struct LoadedModel {
  std::shared_ptr<DenseNet> model;
  ModelInfo info;
  std::vector<std::string> notes;  // what loading did besides the obvious (a re-initialized head)
};

// Builds the architecture named in the file and loads every tensor strictly. `labels`, when
// given, replace the file's labels (and with HeadPolicy::Reinit may change their number).
LoadedModel load_model(const std::string& path, HeadPolicy head = HeadPolicy::Strict,
                       const std::vector<std::string>& labels = {});

std::vector<std::string> split_labels(const std::string& comma_separated);

// The normalization a model file asks for; a bad one is an error naming the file and the key.
data::Normalization normalization_of(const ModelInfo& info, const std::string& path);

}  // namespace rg
