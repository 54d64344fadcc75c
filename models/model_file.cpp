#include "models/model_file.h"

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

std::map<std::string, std::string> ModelInfo::to_metadata() const {
  std::string joined;
  for (const auto& l : labels) joined += (joined.empty() ? "" : ",") + l;
  std::ostringstream eps;
  eps.precision(17);
  eps << bn_eps;
  return {{"architecture", architecture}, {"labels", joined}, {"image_size", std::to_string(image_size)},
          {"normalization", normalization}, {"bn_eps", eps.str()}, {"format", "roentgen"}};
}

ModelInfo ModelInfo::from_metadata(const std::map<std::string, std::string>& m, const std::string& path) {
  auto get = [&](const char* key) {
    auto it = m.find(key);
    RG_CHECK(it != m.end(), path, ": not a roentgen model file: no '", key,
             "' in its metadata (convert torchvision/Keras weights with tools/convert_*.py)");
    return it->second;
  };
  ModelInfo info;
  info.architecture = get("architecture");
  info.labels = split_labels(get("labels"));
  try {
    info.image_size = std::stoll(get("image_size"));
    info.bn_eps = std::stod(get("bn_eps"));
  } catch (const std::invalid_argument&) {
    throw Error(path + ": metadata image_size / bn_eps are not numbers");
  }
  info.normalization = get("normalization");
  RG_CHECK(info.image_size > 0 && info.bn_eps > 0 && std::isfinite(info.bn_eps), path,
           ": metadata image_size and bn_eps must be positive");
  return info;
}

void save_model(const std::string& path, const DenseNet& model, const ModelInfo& info) {
  RG_CHECK(int64_t(info.labels.size()) == model.config().num_classes, "save_model: ", info.labels.size(),
           " labels for a model with ", model.config().num_classes, " outputs");
  write_safetensors(path, model.state_dict(), info.to_metadata());
}

LoadedModel load_model(const std::string& path, HeadPolicy head, const std::vector<std::string>& labels) {
  const SafeTensors file = read_safetensors(path);
  LoadedModel out;
  out.info = ModelInfo::from_metadata(file.metadata, path);
  const Tensor file_head = file.find("classifier.weight");
  RG_CHECK(file_head.defined() && file_head.dim() == 2, path, ": no classifier.weight [classes, features] in the file");
  const int64_t file_classes = file_head.size(0);
  if (!labels.empty()) out.info.labels = labels;
  const int64_t classes = int64_t(out.info.labels.size());
  RG_CHECK(classes > 0, path, ": no labels (give them in the metadata or on the command line)");

  DenseNetConfig config = DenseNetConfig::by_name(out.info.architecture, classes);
  config.bn_eps = out.info.bn_eps;
  out.model = std::make_shared<DenseNet>(config);
  std::vector<std::string> skip;
  if (file_classes != classes) {
    RG_CHECK(head == HeadPolicy::Reinit, path, ": the file's classifier has ", file_classes, " outputs but ", classes,
             " labels are wanted; to keep the features and start a new classifier, load with HeadPolicy::Reinit");
    skip = {"classifier.weight", "classifier.bias"};
    out.notes.push_back("classifier re-initialized: the file has " + std::to_string(file_classes) + " outputs, the model " +
                        std::to_string(classes) + " (features loaded from " + path + ")");
  }
  try {
    out.model->load_state_dict(file.tensors, skip);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  out.model->eval();
  return out;
}

}  // namespace rg
