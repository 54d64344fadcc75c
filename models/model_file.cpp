#include "models/model_file.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace rg {

std::vector<std::string> split_labels(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string join(const std::vector<std::string>& labels) {
  std::string joined;
  for (const auto& l : labels) joined += (joined.empty() ? "" : ",") + l;
  return joined;
}

std::map<std::string, std::string> ModelInfo::to_metadata() const {
  std::ostringstream eps;
  eps.precision(17);
  eps << bn_eps;
  std::map<std::string, std::string> m = {
      {"architecture", architecture},   {"labels", join(labels)}, {"image_size", std::to_string(image_size)},
      {"normalization", normalization}, {"bn_eps", eps.str()},    {"format", "roentgen"}};
  if (!patients.empty()) {
    m["patients_salt"] = patients.salt;
    for (const auto& [key, set] : {std::pair{"patients_train", &patients.train}, {"patients_valid", &patients.valid}})
      for (const auto& h : *set) m[key] += h;
  }
  if (!operating_points.empty()) m["operating_points"] = operating_points.to_json();
  if (intensity.images > 0) m["intensity_profile"] = intensity.to_json();
  return m;
}

namespace {

// The patient record, when the metadata has one: each value checked (hex digits, whole hashes).
PatientRecord patient_record(const std::map<std::string, std::string>& m, const std::string& path) {
  PatientRecord record;
  if (!m.count("patients_salt")) return record;
  auto hex = [&](const char* key, size_t unit) {
    auto it = m.find(key);
    RG_CHECK(it != m.end(), path, ": metadata has patients_salt but no ", key);
    const std::string& v = it->second;
    RG_CHECK(v.size() % unit == 0 && v.find_first_not_of("0123456789abcdef") == std::string::npos, path, ": metadata ",
             key, ": expected lowercase hex digits in groups of ", unit, ", got ", v.size(), " characters");
    return v;
  };
  record.salt = hex("patients_salt", 32);
  RG_CHECK(record.salt.size() == 32, path, ": metadata patients_salt: expected 32 hex digits");
  for (const auto& [key, set] : {std::pair{"patients_train", &record.train}, {"patients_valid", &record.valid}}) {
    const std::string all = hex(key, 16);
    for (size_t at = 0; at < all.size(); at += 16) set->push_back(all.substr(at, 16));
    RG_CHECK(std::is_sorted(set->begin(), set->end()), path, ": metadata ", key, ": the hashes are not sorted");
  }
  return record;
}

}  // namespace

// Each value is parsed whole and checked: a file that says image_size "64abc" or bn_eps "1e999"
// is an error naming the file and the key, never a silently different model.
ModelInfo ModelInfo::from_metadata(const std::map<std::string, std::string>& m, const std::string& path) {
  auto get = [&](const char* key) {
    auto it = m.find(key);
    RG_CHECK(it != m.end(), path, ": not a roentgen model file: no '", key,
             "' in its metadata (convert torchvision/Keras weights with tools/convert_*.py)");
    return it->second;
  };
  auto bad = [&](const char* key, const std::string& why) {
    return Error(path + ": metadata " + key + " '" + get(key) + "': " + why);
  };
  auto number = [&](const char* key) {
    const std::string text = get(key);
    size_t used = 0;
    double v = std::nan("");
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (text.empty() || used != text.size() || !std::isfinite(v)) throw bad(key, "expected a finite number");
    return v;
  };
  ModelInfo info;
  info.architecture = get("architecture");
  try {
    DenseNetConfig::by_name(info.architecture, 1);
  } catch (const Error& e) {
    throw bad("architecture", e.what());
  }
  info.labels = split_labels(get("labels"));
  if (info.labels.empty()) throw bad("labels", "expected comma-separated label names");
  const std::string size = get("image_size");
  if (size.empty() || size.size() > 4 || size.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(size) < 1 || std::stoi(size) > 4096)
    throw bad("image_size", "expected a whole number of pixels from 1 to 4096");
  info.image_size = std::stoi(size);
  info.bn_eps = number("bn_eps");
  if (!(info.bn_eps > 0 && info.bn_eps < 1)) throw bad("bn_eps", "expected a number between 0 and 1");
  info.normalization = get("normalization");  // its spelling is checked where it is used (data/normalize.h)
  info.patients = patient_record(m, path);
  if (const auto at = m.find("intensity_profile"); at != m.end())
    info.intensity = data::IntensityProfile::from_json(at->second, path);
  if (const auto at = m.find("operating_points"); at != m.end()) {
    info.operating_points = OperatingPoints::from_json(at->second, path);
    for (const auto& [label, point] : info.operating_points.labels)
      RG_CHECK(std::find(info.labels.begin(), info.labels.end(), label) != info.labels.end(), path,
               ": metadata operating_points: label ", label, " is not one of the model's outputs");
  }
  return info;
}

void export_checkpoint(const std::string& checkpoint, const std::string& path) {
  const SafeTensors file = read_safetensors(checkpoint);
  RG_CHECK(file.metadata.count("training_state"), checkpoint, ": not a training checkpoint (no training_state)");
  std::vector<std::pair<std::string, Tensor>> weights;
  for (const auto& [name, t] : file.tensors)
    if (name.rfind("model.", 0) == 0) weights.emplace_back(name.substr(6), t);
  std::map<std::string, std::string> metadata = file.metadata;
  metadata.erase("training_state");
  ModelInfo::from_metadata(metadata, checkpoint);  // the same checks as any model file
  write_safetensors(path, weights, metadata);
}

void save_model(const std::string& path, const Classifier& model, const ModelInfo& info) {
  RG_CHECK(int64_t(info.labels.size()) == model.num_classes(), "save_model: ", info.labels.size(),
           " labels for a model with ", model.num_classes(), " outputs");
  write_safetensors(path, model.state_dict(), info.to_metadata());
}

LoadedModel load_model(const std::string& path, HeadPolicy head, const std::vector<std::string>& labels) {
  const SafeTensors file = read_safetensors(path);
  RG_CHECK(!file.metadata.count("training_state"), path,
           ": this is a training checkpoint, not a model file; "
           "`roentgen export --checkpoint ",
           path, " --out model.safetensors` makes a model file of it");
  LoadedModel out;
  out.info = ModelInfo::from_metadata(file.metadata, path);
  const Tensor file_head = file.find("classifier.weight");
  RG_CHECK(file_head.defined() && file_head.dim() == 2, path, ": no classifier.weight [classes, features] in the file");
  const int64_t file_classes = file_head.size(0);
  const std::vector<std::string> file_labels = out.info.labels;
  if (!labels.empty()) out.info.labels = labels;
  const int64_t classes = int64_t(out.info.labels.size());
  RG_CHECK(classes > 0, path, ": no labels (give them in the metadata or on the command line)");

  DenseNetConfig config = DenseNetConfig::by_name(out.info.architecture, classes);
  config.bn_eps = out.info.bn_eps;
  out.model = std::make_shared<DenseNet>(config);
  // The classifier is kept only when its outputs are the labels wanted, in the same order: with
  // other names (or another order) output k would score a different finding.
  std::vector<std::string> skip;
  if (file_classes != classes || file_labels != out.info.labels) {
    const std::string why = file_classes != classes ? "the file's classifier has " + std::to_string(file_classes) +
                                                          " outputs, " + std::to_string(classes) + " labels are wanted"
                                                    : "the file's labels (" + join(file_labels) +
                                                          ") are not the ones wanted (" + join(out.info.labels) + ")";
    RG_CHECK(head == HeadPolicy::Reinit, path, ": ", why,
             "; to keep the features and start a new classifier, load with HeadPolicy::Reinit");
    skip = {"classifier.weight", "classifier.bias"};
    out.notes.push_back("classifier re-initialized: " + why + " (features loaded from " + path + ")");
  } else if (!labels.empty()) {
    out.notes.push_back("classifier kept: the file's labels are the ones wanted");
  }
  try {
    out.model->load_state_dict(file.tensors, skip);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  out.model->eval();
  return out;
}

data::Normalization normalization_of(const ModelInfo& info, const std::string& path) {
  try {
    return data::Normalization::from_spec(info.normalization);
  } catch (const Error& e) {
    throw Error(path + ": metadata normalization: " + e.what());
  }
}

}  // namespace rg
