// Several datasets in one run: `--train chexpert=CheXpert-v1.0-small/train.csv:CheXpert-v1.0-small
// --train nih=train.csv:images/`. Each source is a label table (any format read_labels reads) and
// its images (a folder or a pack); together they are one table and one image source:
//   - an image is named "<dataset>/<its name>", and its patient "<dataset>:<its patient>", so
//     patients of different datasets stay apart (the leakage check and the patient record see
//     them as different people even when their IDs coincide);
//   - the labels are the union of the datasets' labels, in the label space's order
//     (data/datasets.h; other names after them, as first met), and a label a dataset does not
//     annotate is missing for its images (data/labels.h: it counts in no loss or metric).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/image_source.h"
#include "data/labels.h"

namespace rg::data {

struct DatasetSpec {
  std::string name, labels, images;
};
// "NAME=LABELS:IMAGES" (the images' path may not hold a ':'); an error quoting `spec` otherwise.
DatasetSpec parse_dataset_spec(const std::string& spec);
// Whether a --train/--valid value is such a spec rather than a label file.
bool is_dataset_spec(const std::string& value);

// The union of the tables' labels in the label space's order, then the others as first met.
std::vector<std::string> merged_label_names(const std::vector<LabelTable>& tables);
// `tables[i]` (read from `specs[i]`) as one table with `label_names`: names and patients prefixed.
LabelTable merge_tables(const std::vector<DatasetSpec>& specs, const std::vector<LabelTable>& tables,
                        const std::vector<std::string>& label_names);
// One image source for all the specs' images, routing "<dataset>/<name>" to the dataset's source;
// `tables[i]`, read from `specs[i]`, say which labels each dataset annotates (for a pack's check).
std::shared_ptr<const ImageSource> merged_image_source(const std::vector<DatasetSpec>& specs,
                                                       const std::vector<LabelTable>& tables);

}  // namespace rg::data
