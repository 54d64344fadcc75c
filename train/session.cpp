#include "train/session.h"

#include <algorithm>
#include <filesystem>

#include "data/image_checks.h"
#include "data/leakage.h"
#include "data/loader.h"
#include "train/calibrate.h"

namespace rg {

data::LabelTable first_images(data::LabelTable table, int64_t limit) {
  if (limit > 0 && int64_t(table.images.size()) > limit) table.images.resize(size_t(limit));
  return table;
}

namespace {

std::vector<std::string> patient_ids(const data::LabelTable& table) {
  std::vector<std::string> ids;
  for (const auto& item : table.images) ids.push_back(item.patient_id);
  return ids;
}

// The training and validation tables and their images: two label files and a source, or several
// datasets merged (data/merge.h) onto the labels they have between them.
void read_data(const SessionOptions& o, Session& s) {
  if (o.train_datasets.empty()) {
    s.train = first_images(data::read_labels(o.train_csv), o.limit);
    s.valid = first_images(data::read_labels(o.valid_csv), o.limit);
    RG_CHECK(s.train.label_names == s.valid.label_names, o.train_csv, " and ", o.valid_csv,
             " have different label columns");
    s.images = data::open_image_source(o.images);  // the loaders check it against each table
    return;
  }
  RG_CHECK(!o.valid_datasets.empty(), "training on datasets (NAME=LABELS:IMAGES) needs validation datasets too");
  const auto read = [&](const std::vector<data::DatasetSpec>& specs) {  // --limit: per dataset
    std::vector<data::LabelTable> tables;
    for (const data::DatasetSpec& spec : specs) tables.push_back(first_images(data::read_labels(spec.labels), o.limit));
    return tables;
  };
  const std::vector<data::LabelTable> train = read(o.train_datasets), valid = read(o.valid_datasets);
  std::vector<data::LabelTable> all = train;
  all.insert(all.end(), valid.begin(), valid.end());
  const std::vector<std::string> names = data::merged_label_names(all);
  s.train = data::merge_tables(o.train_datasets, train, names);
  s.valid = data::merge_tables(o.valid_datasets, valid, names);
  std::vector<data::DatasetSpec> specs = o.train_datasets;
  specs.insert(specs.end(), o.valid_datasets.begin(), o.valid_datasets.end());
  s.images = data::merged_image_source(specs, all);
}

}  // namespace

Session prepare_session(const SessionOptions& o) {
  Session s;
  read_data(o, s);
  if (const std::string overlap = data::check_training_tables(s.train, s.valid, o.allow_patient_overlap);
      !overlap.empty())
    s.notes.push_back("WARNING: " + overlap);
  if (o.patient_record) s.info.patients = PatientRecord::of(patient_ids(s.train), patient_ids(s.valid), o.seed);
  s.eval_normalization = data::Normalization::sample();
  if (o.notebook_normalization)
    s.eval_normalization =
        data::measure_dataset_normalization(s.train, *s.images, o.image_size, o.image_size, 100, o.seed);
  s.weights = class_weights(compute_class_freqs(s.train.label_matrix()));
  s.info.labels = s.train.label_names;
  s.info.image_size = o.image_size;
  s.info.normalization = s.eval_normalization.spec();
  if (o.model) {
    RG_CHECK(o.weights.empty(), "prepare_session: give a model or a weights file, not both");
    RG_CHECK(o.model->config().num_classes == int64_t(s.info.labels.size()), "prepare_session: the model has ",
             o.model->config().num_classes, " outputs for ", s.info.labels.size(), " labels in ", o.train_csv);
    s.model = o.model;
    s.info.architecture = o.model->config().name;
    s.info.bn_eps = o.model->config().bn_eps;
  } else if (o.weights.empty()) {
    Generator gen(o.seed);
    s.info.architecture = o.architecture.empty() ? "densenet121" : o.architecture;
    s.model =
        std::make_shared<DenseNet>(DenseNetConfig::by_name(s.info.architecture, int64_t(s.info.labels.size())), gen);
    s.notes.push_back("no --weights given: " + s.info.architecture +
                      " starts from RANDOM weights, not ImageNet's; expect "
                      "much lower AUROCs than the notebook (see the README for converting ImageNet weights)");
  } else {
    LoadedModel loaded = load_model(o.weights, HeadPolicy::Reinit, s.info.labels);
    RG_CHECK(o.architecture.empty() || o.architecture == loaded.info.architecture, "--architecture ", o.architecture,
             " was asked for, but ", o.weights, " holds a ", loaded.info.architecture);
    s.model = loaded.model;
    s.info.architecture = loaded.info.architecture;
    s.info.bn_eps = loaded.info.bn_eps;
    s.notes.push_back("weights from " + o.weights);
    for (const auto& n : loaded.notes) s.notes.push_back(n);
  }
  return s;
}

namespace {

// Validation, test and prediction: the tables in order, normalized for evaluation; one rank's
// slices of every batch when `ranks` > 1.
data::LoaderOptions evaluation_loader(const Session& s, const SessionOptions& o, int rank = 0, int ranks = 1) {
  return {.batch_size = o.batch_size,
          .width = o.image_size,
          .height = o.image_size,
          .shuffle = false,
          .threads = o.threads,
          .normalization = s.eval_normalization,
          .rank = rank,
          .ranks = ranks};
}

// What the training images look like, for the input checks (data/image_checks.h): the
// medians over the first 200.
data::IntensityProfile training_profile(const Session& s, int size) {
  std::vector<data::ImageStats> stats;
  for (size_t i = 0; i < std::min<size_t>(200, s.train.size()); ++i)
    stats.push_back(data::image_stats(s.images->load(s.train.images[i].image, size, size)));
  return data::IntensityProfile::of(stats);
}

// The best epoch's model (best.safetensors) chooses its operating points on the whole
// validation set, records the training images' intensity profile, and is saved with them.
void finish_best_model(Session& s, const SessionOptions& o, const TrainOptions& t) {
  const std::string path = (std::filesystem::path(t.out_dir) / "best.safetensors").string();
  LoadedModel best = load_model(path);
  best.model->to(t.device);
  data::DataLoader loader(s.valid, s.images, evaluation_loader(s, o));  // the whole set, on this rank
  const auto probs = predict_all(*best.model, loader);
  best.info.operating_points = choose_operating_points(best.info.labels, s.valid, probs, o.operating_point);
  best.info.intensity = training_profile(s, o.image_size);
  save_model(path, *best.model, best.info);
  s.info.operating_points = best.info.operating_points;
  s.info.intensity = best.info.intensity;
}

}  // namespace

TrainResult run_session(Session& s, const SessionOptions& o, const TrainOptions& t) {
  const Communicator& comm = communicator_of(t);  // several ranks: this rank's slices of every batch
  data::DataLoader train_loader(s.train, s.images,
                                {.batch_size = o.batch_size,
                                 .width = o.image_size,
                                 .height = o.image_size,
                                 .shuffle = o.shuffle,
                                 .seed = o.seed,
                                 .threads = o.threads,
                                 .augment = o.augment,
                                 .normalization = s.train_normalization,
                                 .rank = comm.rank(),
                                 .ranks = comm.size()});
  data::DataLoader valid_loader(s.valid, s.images, evaluation_loader(s, o, comm.rank(), comm.size()));
  const TrainResult result = train(*s.model, s.info, train_loader, valid_loader, s.weights, t);
  const bool ended_well = result.stop == StopReason::Completed || result.stop == StopReason::EarlyStopping;
  if (comm.is_root() && ended_well && result.best_epoch > 0) finish_best_model(s, o, t);
  return result;
}

}  // namespace rg
