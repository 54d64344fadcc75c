// roentgen: the command-line tool.
//
//   roentgen train --train TRAIN.csv --valid VALID.csv --images DIR --out DIR [options]
//   roentgen synthetic --out DIR [--patients N] [--size N] [--seed S]
//   roentgen split --labels Data_Entry_2017_v2020.csv --out DIR [--fractions 0.8,0.1,0.1] [--seed S]
//   roentgen predict --model M.safetensors --csv LIST.csv --images DIR --out preds.csv
//                    [--image-size N] [--normalize sample|imagenet|dataset:<mean>,<std>]
//                    [--batch-size N] [--threads N]
//   roentgen eval --labels LABELS.csv[.gz] --preds PREDS.csv[.gz] --out metrics.json [--bootstrap N]
//   roentgen gradcam --model M --image X.png --label NAME [--layer NAME] --out heat.npy [--overlay out.png]
//   roentgen bench --model densenet121 --mode train|infer --batch-size N --image-size N --iters N [...]
//   roentgen inspect M.safetensors
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "data/csv.h"
#include "data/leakage.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "explain/gradcam.h"
#include "metrics/evaluate.h"
#include "models/model_file.h"
#include "tensor/io.h"
#include "train/session.h"
#include "apps/bench.h"
#include "apps/flags.h"

using namespace rg;
using namespace rg::data;
using rg::app::device_flag;
using rg::app::positive;

namespace {

const char* kUsage =
    "usage:\n"
    "  roentgen train --train TRAIN.csv --valid VALID.csv --images DIR --out DIR\n"
    "                 [--epochs N] [--image-size N] [--batch-size N] [--lr X] [--limit N] [--weights FILE]\n"
    "                 [--threads N] [--seed S] [--resume 1] [--device cpu|cuda|cuda:N]\n"
    "                 [--architecture densenet121|densenet121-se|densenet169|densenet201]\n"
    "      Trains DenseNet121 with the weighted loss, Adam and the notebook's callbacks. Writes\n"
    "      best.safetensors (a model file), last.safetensors (a checkpoint), log.csv, tensorboard/.\n"
    "  roentgen split --labels LABELS.csv[.gz] --out DIR [--fractions 0.8,0.1,0.1] [--seed S]\n"
    "      A patient-level train/valid/test split (no patient on two sides, every label in every\n"
    "      split when possible), written as DIR/train.csv, valid.csv, test.csv in the notebook's format.\n"
    "  roentgen synthetic --out DIR [--patients N] [--size N] [--seed S]\n"
    "      Generates synthetic chest X-rays with planted findings (DIR/images/*.png) and their\n"
    "      labels, split by patient into DIR/train.csv, valid.csv, test.csv: data for trying things out.\n"
    "  roentgen predict --model M.safetensors --csv LIST.csv --images DIR --out preds.csv\n"
    "                   [--image-size N] [--normalize sample|imagenet|dataset:<mean>,<std>]\n"
    "                   [--batch-size N] [--threads N] [--device cpu|cuda|cuda:N]\n"
    "      Writes Image,<label>... with one probability per label for every image listed in the\n"
    "      CSV's Image (or Image Index) column. Labels, image size and normalization come from\n"
    "      the model file unless given here.\n"
    "  roentgen eval --labels LABELS.csv[.gz] --preds PREDS.csv[.gz] --out metrics.json [--bootstrap N]\n"
    "      AUROC (with a bootstrap 95% interval; N resamples, default 1000, 0 for none), average\n"
    "      precision and Youden's threshold per label. Labels in the notebook's or NIH's format;\n"
    "      predictions with an Image (or Image Index) column and one column per label, named\n"
    "      <label> or prob_<label>; rows matched by image name.\n"
    "  roentgen gradcam --model M.safetensors --image X.png --label NAME [--layer NAME] --out heat.npy\n"
    "                   [--overlay out.png] [--device cpu|cuda|cuda:N]\n"
    "      Grad-CAM for one label: writes the H x W float32 heat map as a NumPy .npy file and,\n"
    "      with --overlay, the image with the map over it (default layer: features.norm5).\n"
    "  roentgen bench --model densenet121 --mode train|infer --batch-size N --image-size N --iters N\n"
    "                 [--warmup N] [--threads N] [--device cpu|cuda|cuda:N] [--tf32 on|off] [--cudnn-benchmark on|off]\n"
    "                 [--memory-efficient on|off]\n"
    "      Times training steps (forward, weighted loss, backward, Adam) or inference on random\n"
    "      images and prints one JSON line: images/s, seconds per step, peak memory, backends.\n"
    "  roentgen inspect M.safetensors\n"
    "      Prints the model file's metadata, tensor and parameter counts, and any problems.\n";

std::map<std::string, std::string> parse_flags(int argc, char** argv, int first, const std::vector<std::string>& known) {
  return app::parse_flags(argc, argv, first, known, kUsage);
}

int train_command(int argc, char** argv) {
  auto flags = parse_flags(argc, argv, 2, {"--train", "--valid", "--images", "--out", "--epochs", "--image-size", "--batch-size",
                                           "--lr", "--limit", "--weights", "--threads", "--seed", "--resume", "--device",
                                           "--architecture"});
  for (const char* required : {"--train", "--valid", "--images", "--out"})
    RG_CHECK(flags.count(required), "train: ", required, " is required\n", kUsage);
  const Device device = device_flag(flags);
  auto number = [&](const char* flag, int64_t fallback) { return flags.count(flag) ? positive(flags[flag], flag) : fallback; };
  SessionOptions so{.train_csv = flags["--train"], .valid_csv = flags["--valid"], .image_dir = flags["--images"],
                    .weights = flags.count("--weights") ? flags["--weights"] : "",
                    .architecture = flags.count("--architecture") ? flags["--architecture"] : "", .image_size = int(number("--image-size", 224)),
                    .batch_size = int(number("--batch-size", 8)), .threads = int(number("--threads", 2)),
                    .limit = number("--limit", 0), .seed = flags.count("--seed") ? std::stoull(flags["--seed"]) : 0};
  omp_set_num_threads(so.threads);
  manual_seed(so.seed);
  TrainOptions to{.epochs = int(number("--epochs", 5)), .out_dir = flags["--out"],
                  .resume = flags.count("--resume") && flags["--resume"] != "0", .device = device};
  if (flags.count("--lr")) to.adam.lr = std::stod(flags["--lr"]);
  Session session = prepare_session(so);
  std::cerr << "roentgen train: " << session.train.size() << " training and " << session.valid.size() << " validation images, "
            << session.info.labels.size() << " labels, " << so.image_size << " px, on " << device << "\n";
  for (const auto& note : session.notes) std::cerr << "note: " << note << "\n";
  const TrainResult result = run_session(session, so, to);
  if (!result.stop_reason.empty()) std::cerr << "training stopped: " << result.stop_reason << "\n";
  if (result.best_epoch > 0)
    std::cerr << "best epoch " << result.best_epoch << ": " << flags["--out"] << "/best.safetensors\n";
  return result.stop_reason.empty() || result.stop_reason.rfind("early stopping", 0) == 0 ? 0 : 1;
}

int split(int argc, char** argv) {
  auto flags = parse_flags(argc, argv, 2, {"--labels", "--out", "--fractions", "--seed"});
  for (const char* required : {"--labels", "--out"}) RG_CHECK(flags.count(required), "split: ", required, " is required\n", kUsage);
  SplitOptions options;
  if (flags.count("--fractions")) {
    double f[3];
    RG_CHECK(std::sscanf(flags["--fractions"].c_str(), "%lf,%lf,%lf", &f[0], &f[1], &f[2]) == 3,
             "--fractions expects three numbers like 0.8,0.1,0.1, got '", flags["--fractions"], "'");
    options.train = f[0], options.valid = f[1], options.test = f[2];
  }
  options.seed = flags.count("--seed") ? std::stoull(flags["--seed"]) : 0;
  const LabelTable all = read_labels(flags["--labels"]);
  options.every_label_in_every_split = true;
  Split parts;
  try {
    parts = split_by_patient(all, options);
  } catch (const Error& e) {
    std::cerr << "note: " << e.what() << "; splitting without that guarantee\n";
    options.every_label_in_every_split = false;
    parts = split_by_patient(all, options);
  }
  std::filesystem::create_directories(flags["--out"]);
  for (const auto& [name, part] : {std::pair{"train.csv", &parts.train}, {"valid.csv", &parts.valid}, {"test.csv", &parts.test}}) {
    write_labels(flags["--out"] + "/" + name, *part);
    std::cout << flags["--out"] << "/" << name << ": " << part->size() << " images\n";
  }
  return 0;
}

int synthetic(int argc, char** argv) {
  auto flags = parse_flags(argc, argv, 2, {"--out", "--patients", "--size", "--seed"});
  RG_CHECK(flags.count("--out"), "synthetic: --out is required\n", kUsage);
  SyntheticOptions options;
  if (flags.count("--patients")) options.patients = positive(flags["--patients"], "--patients");
  if (flags.count("--size")) options.size = int(positive(flags["--size"], "--size"));
  if (flags.count("--seed")) options.seed = std::stoull(flags["--seed"]);
  RG_CHECK(options.size >= 32 && options.size <= 4096, "synthetic: --size must be in [32, 4096], got ", options.size);
  const SyntheticSummary summary = write_synthetic_dataset(flags["--out"], options);
  std::cout << flags["--out"] << ": " << summary.images << " images of " << summary.patients
            << " patients, with train.csv, valid.csv, test.csv (patient-level) and boxes.csv\n";
  return 0;
}

int predict(int argc, char** argv) {
  auto flags = parse_flags(argc, argv, 2, {"--model", "--csv", "--images", "--out", "--image-size", "--normalize",
                                           "--batch-size", "--threads", "--device"});
  for (const char* required : {"--model", "--csv", "--images", "--out"})
    RG_CHECK(flags.count(required), "predict: ", required, " is required\n", kUsage);
  const Device device = device_flag(flags);

  const LoadedModel loaded = load_model(flags["--model"]);
  const ModelInfo& info = loaded.info;
  const int64_t size = flags.count("--image-size") ? positive(flags["--image-size"], "--image-size") : info.image_size;
  const Normalization norm = Normalization::from_spec(flags.count("--normalize") ? flags["--normalize"] : info.normalization);

  // The images to score: any CSV with an Image or Image Index column.
  const CsvTable csv = read_csv(flags["--csv"]);
  int column = csv.column("Image");
  if (column < 0) column = csv.column("Image Index");
  RG_CHECK(column >= 0, flags["--csv"], ": no 'Image' or 'Image Index' column");
  LabelTable list;
  list.source = flags["--csv"];
  for (const CsvRow& row : csv.rows) {
    RG_CHECK(!row.fields[column].empty(), flags["--csv"], ":", row.line, ": empty image name");
    list.images.push_back({row.fields[column], {}, ""});
  }
  RG_CHECK(!list.images.empty(), flags["--csv"], ": lists no images");

  LoaderOptions options;
  options.batch_size = int(flags.count("--batch-size") ? positive(flags["--batch-size"], "--batch-size") : 8);
  options.threads = int(flags.count("--threads") ? positive(flags["--threads"], "--threads") : 2);
  options.width = options.height = int(size);
  options.shuffle = false;
  options.normalization = norm;
  DataLoader loader(list, flags["--images"], options);

  loaded.model->to(device);
  std::cerr << "roentgen predict: " << info.architecture << ", " << info.labels.size() << " labels, " << list.size()
            << " images at " << size << "x" << size << ", normalization " << norm.describe() << ", on " << device << "\n";
  const auto probs = predict_all(*loaded.model, loader, true);
  std::vector<std::string> header{"Image"};
  header.insert(header.end(), info.labels.begin(), info.labels.end());
  std::string out = csv_line(header);
  for (size_t i = 0; i < probs.size(); ++i) {
    std::vector<std::string> fields{list.images[i].image};
    for (float p : probs[i]) {
      char number[32];
      std::snprintf(number, sizeof(number), "%.7g", p);
      fields.push_back(number);
    }
    out += csv_line(fields);
  }
  write_file_atomic(flags["--out"], out);
  std::cerr << "wrote " << flags["--out"] << "\n";
  return 0;
}

int eval(int argc, char** argv) {
  auto flags = parse_flags(argc, argv, 2, {"--labels", "--preds", "--out", "--bootstrap"});
  for (const char* required : {"--labels", "--preds", "--out"})
    RG_CHECK(flags.count(required), "eval: ", required, " is required\n", kUsage);
  int bootstrap = 1000;
  if (flags.count("--bootstrap")) bootstrap = flags["--bootstrap"] == "0" ? 0 : int(positive(flags["--bootstrap"], "--bootstrap"));
  const LabelTable truth = read_labels(flags["--labels"]);
  const CsvTable preds = read_csv(flags["--preds"]);
  std::cerr << "roentgen eval: " << preds.rows.size() << " predictions, " << truth.label_names.size() << " labels"
            << (bootstrap ? ", " + std::to_string(bootstrap) + " bootstrap resamples" : "") << "\n";
  const metrics::Evaluation e = metrics::evaluate(truth, preds, bootstrap, 0);
  std::cout << e.table();
  write_file_atomic(flags["--out"], e.to_json() + "\n");
  std::cerr << "wrote " << flags["--out"] << "\n";
  return 0;
}

int gradcam(int argc, char** argv) {
  auto flags = parse_flags(argc, argv, 2, {"--model", "--image", "--label", "--layer", "--out", "--overlay", "--device"});
  for (const char* required : {"--model", "--image", "--label", "--out"})
    RG_CHECK(flags.count(required), "gradcam: ", required, " is required\n", kUsage);
  const Device device = device_flag(flags);
  const LoadedModel loaded = load_model(flags["--model"]);
  loaded.model->to(device);
  const auto& labels = loaded.info.labels;
  const auto it = std::find(labels.begin(), labels.end(), flags["--label"]);
  RG_CHECK(it != labels.end(), "gradcam: the model has no label '", flags["--label"], "' (it has ", [&] {
    std::string all;
    for (const auto& l : labels) all += (all.empty() ? "" : ", ") + l;
    return all;
  }(), ")");
  const int size = int(loaded.info.image_size);
  const GrayImage image = resize(decode_image(flags["--image"]), size, size);
  const Tensor input = image_tensor(image, Normalization::from_spec(loaded.info.normalization));
  const explain::GradCam cam = explain::gradcam(*loaded.model, input, it - labels.begin(),
                                                flags.count("--layer") ? flags["--layer"] : "features.norm5");
  explain::write_npy(flags["--out"], cam.heat);
  std::cerr << flags["--label"] << ": probability " << cam.probability << "; wrote " << flags["--out"];
  if (flags.count("--overlay")) {
    explain::write_overlay_png(flags["--overlay"], image, cam.heat, std::min(0.5, cam.probability));
    std::cerr << " and " << flags["--overlay"];
  }
  std::cerr << "\n";
  return 0;
}

int inspect(int argc, char** argv) {
  RG_CHECK(argc == 3, "inspect: expected one model file\n", kUsage);
  const std::string path = argv[2];
  const SafeTensors file = read_safetensors(path);
  std::cout << path << "\n  metadata:\n";
  for (const auto& [k, v] : file.metadata) std::cout << "    " << k << " = " << (v.size() > 120 ? v.substr(0, 117) + "..." : v) << "\n";
  int64_t params = 0;
  for (const auto& [name, t] : file.tensors)
    if (is_floating(t.dtype()) && name.find("running_") == std::string::npos) params += t.numel();
  std::cout << "  tensors: " << file.tensors.size() << "\n  parameters: " << params << "\n";
  try {
    const LoadedModel m = load_model(path);
    std::cout << "  loads as " << m.info.architecture << " with " << m.info.labels.size() << " outputs: ok\n";
    return 0;
  } catch (const Error& e) {
    std::cout << "  problems: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string command = argc > 1 ? argv[1] : "";
    if (command == "train") return train_command(argc, argv);
    if (command == "split") return split(argc, argv);
    if (command == "synthetic") return synthetic(argc, argv);
    if (command == "predict") return predict(argc, argv);
    if (command == "eval") return eval(argc, argv);
    if (command == "gradcam") return gradcam(argc, argv);
    if (command == "inspect") return inspect(argc, argv);
    if (command == "bench") return app::bench_command(argc, argv, kUsage);
    std::cerr << kUsage;
    return command == "--help" || command == "-h" ? 0 : 2;
  } catch (const Error& e) {
    std::cerr << "roentgen: error: " << e.what() << "\n";
    return 1;
  }
}
