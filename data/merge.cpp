#include "data/merge.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "data/datasets.h"
#include "tensor/error.h"

namespace rg::data {

DatasetSpec parse_dataset_spec(const std::string& spec) {
  const size_t equals = spec.find('='), colon = spec.rfind(':');
  RG_CHECK(equals != std::string::npos && equals > 0 && colon != std::string::npos && colon > equals + 1 &&
               colon + 1 < spec.size() && spec.substr(0, equals).find('/') == std::string::npos,
           "'", spec, "': expected NAME=LABELS:IMAGES (a dataset's name, its label file and its images)");
  return {spec.substr(0, equals), spec.substr(equals + 1, colon - equals - 1), spec.substr(colon + 1)};
}

bool is_dataset_spec(const std::string& value) {
  const size_t equals = value.find('=');
  return equals != std::string::npos && value.find(':', equals) != std::string::npos;
}

std::vector<std::string> merged_label_names(const std::vector<LabelTable>& tables) {
  std::vector<std::string> space, others;
  for (const LabelTable& t : tables)
    for (const std::string& name : t.label_names) {
      std::vector<std::string>& into = label_space_rank(name) < kLabelSpace.size() ? space : others;
      if (std::find(into.begin(), into.end(), name) == into.end()) into.push_back(name);
    }
  std::sort(space.begin(), space.end(),
            [](const std::string& a, const std::string& b) { return label_space_rank(a) < label_space_rank(b); });
  space.insert(space.end(), others.begin(), others.end());
  return space;
}

LabelTable merge_tables(const std::vector<DatasetSpec>& specs, const std::vector<LabelTable>& tables,
                        const std::vector<std::string>& label_names) {
  LabelTable merged;
  merged.label_names = label_names;
  for (size_t d = 0; d < specs.size(); ++d) {
    merged.source += (d ? ", " : "") + specs[d].name + "=" + tables[d].source;
    std::vector<int> column;  // the table's column of each merged label, or -1
    for (const std::string& name : label_names) {
      const auto at = std::find(tables[d].label_names.begin(), tables[d].label_names.end(), name);
      column.push_back(at == tables[d].label_names.end() ? -1 : int(at - tables[d].label_names.begin()));
    }
    for (const LabeledImage& item : tables[d].images) {
      LabeledImage m{specs[d].name + "/" + item.image, {}, specs[d].name + ":" + item.patient_id, item.view};
      for (int c : column) m.labels.push_back(c < 0 ? kMissing : item.labels[size_t(c)]);
      merged.images.push_back(std::move(m));
    }
  }
  return merged;
}

namespace {

class Merged final : public ImageSource {
 public:
  Merged(const std::vector<DatasetSpec>& specs, const std::vector<LabelTable>& tables) {
    for (size_t i = 0; i < specs.size(); ++i) {
      const DatasetSpec& s = specs[i];
      auto [at, fresh] = sources_.emplace(s.name, nullptr);
      if (fresh)
        at->second = open_image_source(s.images);
      else
        RG_CHECK(images_of_.at(s.name) == s.images, "dataset ", s.name,
                 " is given two image sources: ", images_of_.at(s.name), " and ", s.images);
      images_of_[s.name] = s.images;
      std::vector<std::string>& own = labels_of_[s.name];
      for (const std::string& label : tables[i].label_names)
        if (std::find(own.begin(), own.end(), label) == own.end()) own.push_back(label);
    }
  }
  GrayImage load(const std::string& name, int width, int height, StoredSize& stored) const override {
    const auto [source, inner] = route(name);
    return source->load(inner, width, height, stored);
  }
  // Each dataset's source checks its images, with the labels its own table annotates (a pack, the
  // labels it was packed with; data/image_source.h).
  void check(const LabelTable& table, int width, int height) const override {
    std::map<std::string, LabelTable> parts;
    for (const LabeledImage& item : table.images) {
      const std::string dataset = item.image.substr(0, item.image.find('/'));
      const std::string inner = route(item.image).second;
      LabelTable& part = parts[dataset];
      part.source = table.source;
      part.label_names = labels_of_.at(dataset);
      std::vector<float> labels;
      for (const std::string& label : part.label_names) {
        const auto at = std::find(table.label_names.begin(), table.label_names.end(), label);
        RG_CHECK(at != table.label_names.end(), table.source, ": no label ", label, " of dataset ", dataset);
        labels.push_back(item.labels[size_t(at - table.label_names.begin())]);
      }
      part.images.push_back({inner, labels, item.patient_id, item.view});
    }
    for (const auto& [name, part] : parts) sources_.at(name)->check(part, width, height);
  }
  std::string describe() const override {
    std::string text;
    for (const auto& [name, source] : sources_) text += (text.empty() ? "" : ", ") + name + ": " + source->describe();
    return text;
  }
  uint64_t stored_bytes(const std::string& name) const override {
    const auto [source, inner] = route(name);
    return source->stored_bytes(inner);
  }
  std::vector<std::string> names() const override {
    std::vector<std::string> all;
    for (const auto& [name, source] : sources_)
      for (const std::string& n : source->names()) all.push_back(name + "/" + n);
    return all;
  }

 private:
  std::pair<const ImageSource*, std::string> route(const std::string& name) const {
    const size_t slash = name.find('/');
    const auto at = slash == std::string::npos ? sources_.end() : sources_.find(name.substr(0, slash));
    RG_CHECK(at != sources_.end(), name, ": not an image of the datasets ", describe());
    return {at->second.get(), name.substr(slash + 1)};
  }
  std::map<std::string, std::shared_ptr<const ImageSource>> sources_;
  std::map<std::string, std::string> images_of_;
  std::map<std::string, std::vector<std::string>> labels_of_;  // the labels each dataset's tables annotate
};

}  // namespace

std::shared_ptr<const ImageSource> merged_image_source(const std::vector<DatasetSpec>& specs,
                                                       const std::vector<LabelTable>& tables) {
  return std::make_shared<Merged>(specs, tables);
}

}  // namespace rg::data
