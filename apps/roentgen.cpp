// roentgen: the command-line tool: train, split, synthetic, pack, benchmark, predict, calibrate, eval, gradcam, bench,
// export, inspect, info. Each command is one entry of kCommands at the bottom — its name, summary, usage
// (with its defaults), function, and whether it runs under mpirun: `roentgen` alone lists them,
// `roentgen --help` prints every usage, `roentgen COMMAND --help` one.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <unistd.h>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "data/csv.h"
#include "data/image_checks.h"
#include "data/leakage.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "data/synthetic_release.h"
#include "explain/gradcam.h"
#include "metrics/evaluate.h"
#include "models/model_file.h"
#include "report/reliability.h"
#include "tensor/io.h"
#include "train/calibrate.h"
#include "train/session.h"
#include "apps/bench.h"
#include "cli/flags.h"
#include "distributed/world.h"
#include "apps/info.h"
#include "apps/benchmark.h"
#include "apps/pack.h"
#include "layers/conv_settings.h"
#include "tensor/parallel.h"
#include "tensor/cpu/blas_core.h"

using namespace rg;
using namespace rg::data;
using rg::cli::device_flag;

namespace {

// The recipe's flags with their defaults (train/recipe.h), for train's usage.
std::string recipe_flags() {
  std::ostringstream out;
  out << "                 [--epochs N (" << kRecipe.epochs << ")] [--min-epochs N (" << kRecipe.min_epochs
      << ")] [--batch-size N (" << kRecipe.batch_size << ")] [--lr X (" << kRecipe.lr << ")] [--image-size N ("
      << kRecipe.image_size << ")]\n";
  return out.str();
}

// --conv-algo's choices, from the table of CPU algorithms (layers/cpu/conv_algorithms.h).
std::string conv_algo_choices() {
  std::string text;
  for (const std::string& name : cpu_conv_algo_names()) text += (text.empty() ? "" : "|") + name;
  return text;
}

// The commands, in the order `roentgen` lists them; each usage with its defaults in parentheses.
struct Command {
  const char* name;
  const char* summary;
  std::string usage;
  int (*run)(int argc, char** argv);
  bool several_processes = false;  // may run as several ranks under mpirun
};
std::string usage_of(const std::string& command);

int train_command(int argc, char** argv);
int split(int argc, char** argv);
int synthetic(int argc, char** argv);
int predict(int argc, char** argv);
int eval(int argc, char** argv);
int calibrate(int argc, char** argv);
int gradcam(int argc, char** argv);
int export_command(int argc, char** argv);
int inspect(int argc, char** argv);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"train", "train a model (data-parallel under mpirun)",
       "  roentgen train --train TRAIN.csv --valid VALID.csv --images DIR|FILE.rgpack --out DIR\n"
       "  roentgen train --train NAME=TRAIN.csv:IMAGES [--train ...] --valid NAME=VALID.csv:IMAGES [--valid ...] --out DIR\n" +
           recipe_flags() +
           "                 [--limit N (0: all)] [--weights FILE] [--threads N (2)] [--seed S (0)]\n"
           "                 [--resume 1] [--device cpu|cuda|cuda:N (cpu)] [--max-image-pixels N]\n"
           "                 [--architecture densenet121|densenet121-se|densenet169|densenet201 (densenet121)]\n"
           "                 [--no-augment] [--no-shuffle] [--normalization sample|notebook (sample)]\n"
           "                 [--sync-batch-norm on|off (on)] [--allow-patient-overlap] [--no-patient-record]\n"
           "                 [--label-format auto|nih|notebook|chexpert|mimic|vindr|padchest|rsna (auto)]\n"
           "                 [--uncertain ignore|ones|zeros (ignore)] [--views PA,AP,...] [--one-per-patient]\n"
           "                 [--official-split train|validate|test (MIMIC-CXR)]\n"
           "                 [--operating-point youden|sensitivity=S|specificity=S|ppv=P (youden)]\n"
           "      Trains DenseNet121 with the weighted loss, Adam and the notebook's callbacks. Writes\n"
           "      best.safetensors (a model file), last.safetensors (a checkpoint), log.csv, tensorboard/.\n"
           "      First checks the tables: an image listed twice, or in both, is an error; so is a patient\n"
           "      in both (the notebook's leakage) unless --allow-patient-overlap (then a warning). The model\n"
           "      file records the patients as salted hashes, so predict and eval notice them later;\n"
           "      --no-patient-record leaves them out (anyone with the file can test a candidate ID).\n"
           "      --images: a folder of PNG, JPEG or DICOM files, or a pack of them made by roentgen pack.\n"
           "      Several datasets (NAME=LABELS:IMAGES) train as one: images are NAME/<image>, patients\n"
           "      NAME:<patient> (kept apart across datasets), labels the union of theirs, missing where a\n"
           "      dataset does not annotate them.\n"
           "      Label files: the notebook's, NIH's, CheXpert's, MIMIC-CXR's, VinDr-CXR's, PadChest's or\n"
           "      RSNA's (told by the header, or --label-format); a blank label is missing and counts\n"
           "      nowhere; CheXpert's uncertain -1 is missing, 1 or 0 as --uncertain says. --views keeps\n"
           "      the images of those views, --one-per-patient each patient's first image,\n"
           "      --official-split the images of one of MIMIC-CXR's splits.\n"
           "      SIGTERM or Ctrl-C stops after the current step with last.safetensors written (--resume 1).\n"
           "      Under mpirun -np N: data-parallel on N processes; --batch-size is the global batch, each\n"
           "      rank takes its slice; --sync-batch-norm on normalizes over the global batch (the model one\n"
           "      process trains), off over each rank's slice; --threads defaults to the cores / ranks.\n"
           "      --normalization: sample (default) normalizes every image by its own mean and std, in\n"
           "      training and in evaluation alike; notebook is the notebook's mix (a dataset mean/std for\n"
           "      validation, test and the saved model). --min-epochs N: the best epoch is chosen, and early\n"
           "      stopping may stop, only from epoch N on.\n"
           "      At the end, the best epoch's model chooses each label's decision threshold on the\n"
           "      validation set by --operating-point and best.safetensors keeps them (predict decides by them).\n",
       train_command, true},
      {"split", "split a label file by patient",
       "  roentgen split --labels LABELS.csv[.gz] --out DIR [--fractions 0.8,0.1,0.1] [--seed S]\n"
       "                [--label-format F] [--uncertain U] [--views V] [--one-per-patient] (as train)\n"
       "      A patient-level train/valid/test split (no patient on two sides, every label in every\n"
       "      split when possible), written as DIR/train.csv, valid.csv, test.csv in the notebook's format.\n",
       split},
      {"synthetic", "generate a synthetic dataset",
       "  roentgen synthetic --out DIR [--patients N] [--size N] [--seed S] [--format png|dicom]\n"
       "                    [--layout notebook|nih|chexpert|mimic|vindr|padchest|rsna]\n"
       "      Generates synthetic chest X-rays with planted findings (DIR/images/*.png, or *.dcm in the\n"
       "      DICOM layouts of real radiographs: MONOCHROME1, windowed, rescaled) and their labels,\n"
       "      split by patient into DIR/train.csv, valid.csv, test.csv: data for trying things out.\n"
       "      --layout lays them out as a public dataset's release instead (its tables, paths and\n"
       "      image format), and prints the --labels and --images each of its tables takes.\n",
       synthetic},
      {"pack", "pack decoded images into one file",
       "  roentgen pack --labels FILE.csv[.gz] [--labels FILE ...] --images DIR --image-size N --out FILE.rgpack\n"
       "                [--threads N (the cores)] [--max-image-pixels N] [--label-format F] [--uncertain U]\n"
       "  roentgen pack --verify FILE.rgpack\n"
       "      Decodes every image the label files name (in any format train reads)\n"
       "      once, resized to N x N, into one file that train, predict, gradcam and the example take\n"
       "      as --images and read without decoding. --verify checks every record's CRC.\n",
       [](int argc, char** argv) { return app::pack_command(argc, argv, usage_of("pack").c_str()); }},
      {"benchmark", "one model's AUROCs over several datasets",
       "  roentgen benchmark --model M.safetensors --dataset NAME=LABELS:IMAGES [--dataset ...] --out DIR\n"
       "                     [--bootstrap N (1000)] [--seed S] [--batch-size N] [--threads N] [--device cpu|cuda|cuda:N]\n"
       "                     [--skip-bad-images] [--max-image-pixels N] [--label-format F] [--uncertain U]\n"
       "                     [--views V] [--one-per-patient] [--official-split S] (as train)\n"
       "      External validation: scores every image of each dataset (its label file in any format train\n"
       "      reads, its images a folder or a pack) and prints, per label and dataset, the AUROC over the\n"
       "      images where the label is known with its 95% bootstrap interval and the number of\n"
       "      positives, n/a where the dataset does not annotate it. Writes DIR/benchmark.csv,\n"
       "      benchmark.json and benchmark.html (the table as a heat map).\n",
       [](int argc, char** argv) { return app::benchmark_command(argc, argv, usage_of("benchmark").c_str()); }},
      {"predict", "score images with a model",
       "  roentgen predict --model M.safetensors [--csv LIST.csv] --images DIR|FILE.rgpack --out preds.csv\n"
       "                   [--image-size N] [--normalization sample|imagenet|dataset:<mean>,<std>]\n"
       "                   [--batch-size N] [--threads N] [--device cpu|cuda|cuda:N] [--max-image-pixels N]\n"
       "                   [--skip-bad-images] [--label-format F] [--uncertain U] [--views V]\n"
       "                   [--one-per-patient] (as train) [--output probabilities|decisions|both] [--tta none|flip]\n"
       "      Writes Image,<label>... with one probability per label for every image listed in the\n"
       "      CSV's Image (or Image Index) column or, without --csv, for every image in --images: each\n"
       "      PNG, JPEG and DICOM of a folder and its subfolders (told by content, sorted by path), each record\n"
       "      of a pack (in its order). Labels, image size\n"
       "      and normalization come from the model file unless given here. With a PatientId (or\n"
       "      Patient ID) column, warns about images of patients the model was trained or validated\n"
       "      on. An unreadable image stops with its name; --skip-bad-images lists it in skipped.csv\n"
       "      beside --out instead and counts it at the end. With the model's operating points (train\n"
       "      and calibrate store them), decision_<label> columns follow: 1 at or above the label's\n"
       "      threshold, 0 below (--output both, the default then); a model without them gives\n"
       "      probabilities only, and refuses --output decisions|both rather than decide at 0.5.\n"
       "      --tta flip: each image's probabilities averaged with its mirror image's (the training flip).\n",
       predict},
      {"calibrate", "choose a model's decision thresholds on a labeled set",
       "  roentgen calibrate --model M.safetensors --labels LABELS.csv --images DIR|FILE.rgpack [--out M2.safetensors]\n"
       "                     [--operating-point youden|sensitivity=S|specificity=S|ppv=P (youden)]\n"
       "                     [--batch-size N] [--threads N] [--device cpu|cuda|cuda:N] [--max-image-pixels N]\n"
       "                     [--label-format F] [--uncertain U] [--views V] [--one-per-patient] (as train)\n"
       "                     [--tta none|flip] (as predict will score)\n"
       "      Scores the set's images and chooses each label's threshold by the rule over the images\n"
       "      where the label is known (metrics/decisions.h); writes the model with them to --out (default:\n"
       "      the model file itself, replaced atomically). A label the set lacks, or of one class in it,\n"
       "      gets no threshold and no decisions.\n",
       calibrate},
      {"eval", "AUROC and more from predictions",
       "  roentgen eval --labels LABELS.csv[.gz] --preds PREDS.csv[.gz] --out metrics.json [--bootstrap N]\n"
       "                [--reliability FILE.svg]\n"
       "                [--model M.safetensors [--strict]] [--label-format F] [--uncertain U] [--views V]\n"
       "                [--one-per-patient] (as train)\n"
       "      AUROC (with a bootstrap 95% interval; N resamples, default 1000, 0 for none), average\n"
       "      precision, Youden's threshold and calibration (ECE over 10 equal-mass bins, Brier score;\n"
       "      --reliability draws the reliability diagram) per label, over the images where the label is known\n"
       "      (n/a when it is known for none). Labels in any format train reads;\n"
       "      predictions with an Image (or Image Index) column and one column per label, named\n"
       "      <label> or prob_<label>; rows matched by image name. --model: the model that made the\n"
       "      predictions; a warning (--strict: an error) when images belong to patients it was trained\n"
       "      or validated on, and sensitivity, specificity, PPV and NPV (95% Wilson intervals) at its\n"
       "      operating points.\n",
       eval},
      {"gradcam", "a Grad-CAM heat map for one image and label",
       "  roentgen gradcam --model M.safetensors --image X.png --label NAME [--layer NAME] --out heat.npy\n"
       "                   [--images DIR|FILE.rgpack] [--overlay out.png] [--device cpu|cuda|cuda:N] [--max-image-pixels N]\n"
       "      Grad-CAM for one label: writes the H x W float32 heat map as a NumPy .npy file and,\n"
       "      with --overlay, the image with the map over it (default layer: features.norm5).\n"
       "      With --images, --image names an image in that folder or pack.\n",
       gradcam},
      {"bench", "time training, inference, allreduce or loading",
       "  roentgen bench --model densenet121 --mode train|infer|allreduce --batch-size N --image-size N --iters N\n"
       "                 [--images DIR|FILE.rgpack --labels FILE] [--warmup N] [--threads N] [--device cpu|cuda|cuda:N]\n"
       "                 [--tf32 on|off] [--cudnn-benchmark on|off] [--memory-efficient on|off]\n"
       "                 [--conv-algo " +
           conv_algo_choices() +
           "] [--sync-batch-norm on|off]\n"
           "      Times training steps (forward, weighted loss, backward, Adam) or inference on random\n"
           "      images and prints one JSON line: images/s, seconds per step, peak memory, backends, the\n"
           "      CPU, its kernels' instruction-set level and OpenBLAS's core. --conv-algo: the CPU's\n"
           "      convolution algorithm (default auto: chosen per shape). Under mpirun, train steps the\n"
           "      global batch --batch-size data-parallel and adds images/s per rank and each phase's time\n"
           "      on the slowest rank (forward, waiting, backward, exposed allreduce, update); allreduce\n"
           "      times the sum of one model's gradients over the ranks (bus bandwidth as nccl-tests).\n"
           "      With --images DIR|FILE.rgpack --labels FILE, train steps on the loader's batches and adds\n"
           "      the time spent loading.\n"
           "  roentgen bench --mode load --images DIR|FILE.rgpack --labels FILE --image-size N --batch-size N\n"
           "                 [--threads N (2)] [--iters EPOCHS (1)] [--warmup EPOCHS (1)]\n"
           "      The data loader alone (decode or read, resize, flip, normalize): images/s and MB/s.\n",
       [](int argc, char** argv) { return app::bench_command(argc, argv, usage_of("bench").c_str()); }, true},
      {"export", "the model file inside a checkpoint",
       "  roentgen export --checkpoint last.safetensors --out model.safetensors\n"
       "      The model file inside a training checkpoint (weights and metadata, without Adam's state).\n",
       export_command},
      {"inspect", "a model file's metadata and problems",
       "  roentgen inspect M.safetensors\n"
       "      Prints the model file's metadata, tensor and parameter counts, its patient record's\n"
       "      counts, and any problems.\n",
       inspect},
      {"info", "what roentgen runs on here",
       "  roentgen info\n"
       "      What roentgen runs on here: the CPU and its vector units, the instruction-set level of our\n"
       "      kernels, OpenBLAS's version and kernels (core), the threads, CUDA, cuDNN and the GPUs.\n",
       [](int argc, char** argv) { return app::info_command(argc, argv, usage_of("info").c_str()); }},
  };
  return table;
}

std::string usage_of(const std::string& command) {
  for (const Command& c : commands())
    if (c.name == command) return "usage:\n" + c.usage;
  throw Error("no command " + command);
}

// The flags of `command` (argv[1]); --help prints the command's usage.
cli::Flags parse_flags(int argc, char** argv, const std::vector<std::string>& known,
                       const std::vector<std::string>& switches = {}) {
  return cli::parse_flags(argc, argv, 2, known, usage_of(argv[1]).c_str(), switches);
}

void require(const cli::Flags& flags, const char* command, std::initializer_list<const char*> names) {
  for (const char* name : names) RG_CHECK(flags.count(name), command, ": ", name, " is required\n", usage_of(command));
}

// Rank 0 prints where every rank runs: its host, threads and device.
void print_placement(Communicator& comm, int threads, Device device, bool sync_batch_norm) {
  if (comm.size() == 1) return;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  const auto all = comm.allgather(std::string(host) + ", " + std::to_string(threads) + " threads, " + device.str());
  if (!comm.is_root()) return;
  std::cerr << "roentgen train: " << comm.size() << " ranks (" << comm.name() << "), batch norm "
            << (sync_batch_norm ? "over the global batch" : "per rank") << "\n";
  for (size_t r = 0; r < all.size(); ++r) std::cerr << "  rank " << r << ": " << all[r] << "\n";
}

int train_command(int argc, char** argv) {
  auto flags = parse_flags(
      argc, argv, {"--train",         "--valid",      "--images",          "--out",
                   "--epochs",        "--image-size", "--batch-size",      "--lr",
                   "--limit",         "--weights",    "--threads",         "--seed",
                   "--resume",        "--device",     "--architecture",    "--max-image-pixels",
                   "--normalization", "--min-epochs", "--sync-batch-norm", "--label-format",
                   "--uncertain",     "--views",      "--official-split",  "--operating-point"},
      {"--no-augment", "--no-shuffle", "--allow-patient-overlap", "--no-patient-record", "--one-per-patient"});
  require(flags, "train", {"--train", "--valid", "--out"});
  const bool datasets = is_dataset_spec(flags["--train"]);
  RG_CHECK(
      datasets == is_dataset_spec(flags["--valid"]) && datasets != (flags.count("--images") > 0),
      "train: give --train and --valid label files with --images, or --train and --valid datasets NAME=LABELS:IMAGES "
      "(repeated for several) without it\n",
      usage_of("train"));
  Communicator& comm = world();
  const Device device = cli::rank_device(flags, comm);
  cli::image_limit_flag(flags);
  cli::label_flags(flags);
  SessionOptions so{.train_csv = flags["--train"],
                    .valid_csv = flags["--valid"],
                    .images = flags["--images"],
                    .weights = flags.count("--weights") ? flags["--weights"] : "",
                    .architecture = flags.count("--architecture") ? flags["--architecture"] : "",
                    .image_size = int(cli::integer(flags, "--image-size", kRecipe.image_size, 32, 4096)),
                    .batch_size = int(cli::integer(flags, "--batch-size", kRecipe.batch_size, 2, 4096)),
                    .threads = cli::rank_threads(flags, comm, 2),
                    .limit = cli::integer(flags, "--limit", 0, 0, int64_t(1) << 40),
                    .seed = cli::seed(flags),
                    .augment = !flags.count("--no-augment"),
                    .shuffle = !flags.count("--no-shuffle"),
                    .notebook_normalization = cli::normalization_flag(flags),
                    .allow_patient_overlap = flags.count("--allow-patient-overlap") > 0,
                    .patient_record = !flags.count("--no-patient-record"),
                    .operating_point = metrics::OperatingRule::parse(
                        flags.count("--operating-point") ? flags["--operating-point"] : "youden")};
  if (datasets) {
    for (const std::string& spec : cli::all_values(argc, argv, 2, "--train"))
      so.train_datasets.push_back(parse_dataset_spec(spec));
    for (const std::string& spec : cli::all_values(argc, argv, 2, "--valid"))
      so.valid_datasets.push_back(parse_dataset_spec(spec));
  }
  if (!so.architecture.empty()) DenseNetConfig::by_name(so.architecture, 1);  // an unknown name fails here
  TrainOptions to{.epochs = int(cli::integer(flags, "--epochs", kRecipe.epochs, 1, 100000)),
                  .out_dir = flags["--out"],
                  .min_epochs = int(cli::integer(flags, "--min-epochs", kRecipe.min_epochs, 1, 100000)),
                  .resume = flags.count("--resume") && flags["--resume"] != "0",
                  .device = device,
                  .sync_batch_norm = cli::on_off(flags, "--sync-batch-norm", true)};
  to.adam.lr = cli::real(flags, "--lr", kRecipe.lr, 1e-12, 10);
  if (comm.is_root()) cli::make_output_folder(to.out_dir);
  rg::set_num_threads(so.threads);
  manual_seed(so.seed);
  Session session = prepare_session(so);
  print_placement(comm, so.threads, device, to.sync_batch_norm);
  if (comm.is_root()) {
    std::cerr << "roentgen train: " << session.train.size() << " training and " << session.valid.size()
              << " validation images, " << session.info.labels.size() << " labels, " << so.image_size << " px, on "
              << device << "\n";
    for (const auto& note : session.notes) std::cerr << "note: " << note << "\n";
  }
  const TrainResult result = run_session(session, so, to);
  if (!comm.is_root()) return result.stop == StopReason::Completed || result.stop == StopReason::EarlyStopping ? 0 : 1;
  if (!result.stop_reason.empty()) std::cerr << "training stopped: " << result.stop_reason << "\n";
  if (result.stop == StopReason::Interrupted) {
    std::cerr << "to resume:";
    for (int i = 0; i < argc; ++i) std::cerr << " " << argv[i];
    std::cerr << (flags.count("--resume") ? "\n" : " --resume 1\n");
  }
  if (result.best_epoch > 0)
    std::cerr << "best epoch " << result.best_epoch << ": " << flags["--out"] << "/best.safetensors\n";
  if (!session.info.operating_points.empty())
    std::cerr << "operating points, " << session.info.operating_points.describe();
  return result.stop == StopReason::Completed || result.stop == StopReason::EarlyStopping ? 0 : 1;
}

int split(int argc, char** argv) {
  auto flags = parse_flags(
      argc, argv,
      {"--labels", "--out", "--fractions", "--seed", "--label-format", "--uncertain", "--views", "--official-split"},
      {"--one-per-patient"});
  require(flags, "split", {"--labels", "--out"});
  cli::label_flags(flags);
  SplitOptions options;
  if (flags.count("--fractions")) {
    double f[3];
    RG_CHECK(std::sscanf(flags["--fractions"].c_str(), "%lf,%lf,%lf", &f[0], &f[1], &f[2]) == 3,
             "--fractions expects three numbers like 0.8,0.1,0.1, got '", flags["--fractions"], "'");
    options.train = f[0], options.valid = f[1], options.test = f[2];
  }
  options.seed = cli::seed(flags);
  cli::make_output_folder(flags["--out"]);
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
  for (const auto& [name, part] :
       {std::pair{"train.csv", &parts.train}, {"valid.csv", &parts.valid}, {"test.csv", &parts.test}}) {
    write_labels(flags["--out"] + "/" + name, *part);
    std::cout << flags["--out"] << "/" << name << ": " << part->size() << " images\n";
  }
  return 0;
}

int synthetic(int argc, char** argv) {
  auto flags = parse_flags(argc, argv, {"--out", "--patients", "--size", "--seed", "--format", "--layout"});
  require(flags, "synthetic", {"--out"});
  SyntheticOptions options;
  const std::string format = flags.count("--format") ? flags["--format"] : "png";
  RG_CHECK(format == "png" || format == "dicom", "synthetic: --format is png or dicom, not \"", format, "\"");
  options.format = format == "dicom" ? ImageFormat::kDicom : ImageFormat::kPng;
  options.patients = cli::integer(flags, "--patients", options.patients, 1, 1000000);
  options.size = int(cli::integer(flags, "--size", options.size, 32, 4096));
  options.seed = cli::seed(flags);
  const std::string layout_name = flags.count("--layout") ? flags["--layout"] : "notebook";
  const LabelFormat layout = label_format_from_name(layout_name);
  RG_CHECK(layout != LabelFormat::kAuto, "synthetic: --layout names a release (notebook, nih, chexpert, mimic, ",
           "vindr, padchest or rsna), not auto");
  RG_CHECK(!flags.count("--format") || layout == LabelFormat::kNotebook, "synthetic: --format is for the notebook's ",
           "layout; ", layout_name, "'s images are in its release's format");
  cli::make_output_folder(flags["--out"]);
  const auto tables = write_synthetic_release(flags["--out"], layout, options);
  std::cout << flags["--out"] << ": synthetic chest X-rays of " << options.patients << " patients in the "
            << layout_name << " layout\n";
  for (const ReleaseTable& table : tables)
    std::cout << "  " << table.part << ": --labels " << table.labels << " --images " << table.images << "\n";
  return 0;
}

// The first of the columns named, or -1.
int column_of(const CsvTable& csv, std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (int c = csv.column(name); c >= 0) return c;
  return -1;
}

// The images a CSV lists in its Image (or Image Index) column, with their patients when it has a
// PatientId (or Patient ID) column; or those of a public dataset's label table.
LabelTable listed_images(const std::string& path) {
  const CsvTable csv = read_csv(path);
  const int column = column_of(csv, {"Image", "Image Index"});
  if (column < 0) {  // a public dataset's label table (CheXpert's Path, RSNA's patientId), or an error
    LabelTable table = parse_labels(csv);
    table.label_names.clear();
    for (LabeledImage& item : table.images) item.labels.clear();
    return table;
  }
  const int patient = column_of(csv, {"PatientId", "Patient ID"});
  LabelTable list{path, {}, {}};
  for (const CsvRow& row : csv.rows) {
    RG_CHECK(!row.fields[column].empty(), path, ":", row.line, ": empty image name");
    list.images.push_back({row.fields[column], {}, patient < 0 ? "" : row.fields[patient]});
  }
  RG_CHECK(!list.images.empty(), path, ": lists no images");
  return list;
}

// Every image a folder or a pack holds (data/image_source.h:ImageSource::names).
LabelTable source_images(const std::string& path, const ImageSource& source) {
  LabelTable list{path, {}, {}};
  for (const std::string& name : source.names()) list.images.push_back({name, {}, ""});
  return list;
}

// What --output asks of predict: decisions only from a model with operating points.
metrics::PredictionColumns prediction_columns(cli::Flags& flags, const OperatingPoints& points,
                                              const std::string& model) {
  const std::string output = flags.count("--output") ? flags["--output"] : points.empty() ? "probabilities" : "both";
  RG_CHECK(output == "probabilities" || output == "decisions" || output == "both",
           "predict: --output is probabilities, decisions or both, not \"", output, "\"");
  RG_CHECK(output == "probabilities" || !points.empty(), "predict: ", model,
           " has no operating points, so it makes no decisions (never at an arbitrary 0.5): choose them with "
           "roentgen calibrate --model ",
           model, " --labels VALID.csv --images DIR, or ask for --output probabilities");
  if (points.empty())
    std::cerr << "note: " << model << " has no operating points: probabilities only (roentgen calibrate adds them)\n";
  return output == "both"        ? metrics::PredictionColumns::kBoth
         : output == "decisions" ? metrics::PredictionColumns::kDecisions
                                 : metrics::PredictionColumns::kProbabilities;
}

// score_images' flags (and the label and image-limit flags), each checked before any work.
void check_scoring_flags(cli::Flags& flags) {
  device_flag(flags);
  cli::integer(flags, "--image-size", 0, 32, 4096);
  cli::integer(flags, "--batch-size", 8, 1, 4096);
  cli::threads(flags, 2);
  if (flags.count("--tta")) tta_from_name(flags["--tta"]);
  if (flags.count("--normalization")) Normalization::from_spec(flags["--normalization"]);
  cli::image_limit_flag(flags);
  cli::label_flags(flags);
}

// The model's probabilities for `list`'s images ([N][L]; an empty row: an image --skip-bad-images
// skipped), on --device, at --image-size and with --normalization when given, else the model file's.
std::vector<std::vector<float>> score_images(cli::Flags& flags, const LoadedModel& loaded, const LabelTable& list,
                                             const std::shared_ptr<const ImageSource>& source, const char* command) {
  const Device device = device_flag(flags);
  const ModelInfo& info = loaded.info;
  const int64_t size_flag = cli::integer(flags, "--image-size", 0, 32, 4096);  // 0: the model file's
  const int64_t size = size_flag ? size_flag : info.image_size;
  const Normalization norm = flags.count("--normalization") ? Normalization::from_spec(flags["--normalization"])
                                                            : normalization_of(info, flags["--model"]);
  if (const std::string seen = seen_patients_warning(info.patients, list); !seen.empty())
    std::cerr << "WARNING: " << seen << "\n";
  LoaderOptions options;
  options.batch_size = int(cli::integer(flags, "--batch-size", 8, 1, 4096));
  options.threads = cli::threads(flags, 2);
  options.skip_bad_images = flags.count("--skip-bad-images") > 0;
  options.width = options.height = int(size);
  options.shuffle = false;
  options.normalization = norm;
  InputChecks checks(info.intensity);  // each image against the training images (data/image_checks.h)
  options.observe = [&](size_t row, const GrayImage& image, StoredSize stored) {
    checks.add(list.images[row].image, image, stored);
  };
  DataLoader loader(list, source, options);
  loaded.model->to(device);
  const Tta tta = tta_from_name(flags.count("--tta") ? flags["--tta"] : "none");
  std::cerr << "roentgen " << command << ": " << info.architecture << ", " << info.labels.size() << " labels, "
            << list.size() << " images at " << size << "x" << size << ", normalization " << norm.describe() << ", on "
            << device << (tta == Tta::kFlip ? ", each averaged with its mirror image (--tta flip)" : "") << "\n";
  auto probs = predict_all(*loaded.model, loader, true, tta);
  for (const std::string& warning : checks.warnings()) std::cerr << "WARNING: " << warning << "\n";
  return probs;
}

int predict(int argc, char** argv) {
  auto flags = parse_flags(argc, argv,
                           {"--model", "--csv", "--images", "--out", "--image-size", "--normalization", "--batch-size",
                            "--threads", "--device", "--max-image-pixels", "--label-format", "--uncertain", "--views",
                            "--official-split", "--output", "--tta"},
                           {"--skip-bad-images", "--one-per-patient"});
  require(flags, "predict", {"--model", "--images", "--out"});
  check_scoring_flags(flags);
  cli::check_writable_file(flags["--out"]);
  const std::string skipped_csv = (std::filesystem::path(flags["--out"]).parent_path() / "skipped.csv").string();

  const LoadedModel loaded = load_model(flags["--model"]);
  const ModelInfo& info = loaded.info;
  const metrics::PredictionColumns columns = prediction_columns(flags, info.operating_points, flags["--model"]);
  const std::shared_ptr<const ImageSource> source = open_image_source(flags["--images"]);
  const LabelTable list =
      flags.count("--csv") ? listed_images(flags["--csv"]) : source_images(flags["--images"], *source);
  const auto probs = score_images(flags, loaded, list, source, "predict");
  // A row without probabilities is an image the loader skipped (--skip-bad-images).
  std::vector<std::string> images, skipped;
  std::vector<std::vector<float>> scored;
  for (size_t i = 0; i < list.size(); ++i) {
    if (probs[i].empty()) {
      skipped.push_back(list.images[i].image);
      continue;
    }
    images.push_back(list.images[i].image);
    scored.push_back(probs[i]);
  }
  write_file_atomic(flags["--out"], metrics::predictions_csv(images, info.labels, scored,
                                                             info.operating_points.thresholds(info.labels), columns));
  std::cerr << "wrote " << flags["--out"] << " (" << images.size() << " images)\n";
  if (flags.count("--skip-bad-images")) {
    std::string text = csv_line({"Image"});
    for (const auto& name : skipped) text += csv_line({name});
    write_file_atomic(skipped_csv, text);
    std::cerr << "skipped " << skipped.size() << " unreadable image" << (skipped.size() == 1 ? "" : "s")
              << ", listed in " << skipped_csv << "\n";
  }
  return 0;
}

int calibrate(int argc, char** argv) {
  auto flags = parse_flags(
      argc, argv,
      {"--model", "--labels", "--images", "--out", "--operating-point", "--batch-size", "--threads", "--device",
       "--max-image-pixels", "--label-format", "--uncertain", "--views", "--official-split", "--tta"},
      {"--one-per-patient"});
  require(flags, "calibrate", {"--model", "--labels", "--images"});
  check_scoring_flags(flags);
  const auto rule =
      metrics::OperatingRule::parse(flags.count("--operating-point") ? flags["--operating-point"] : "youden");
  const std::string out = flags.count("--out") ? flags["--out"] : flags["--model"];
  cli::check_writable_file(out);
  LoadedModel loaded = load_model(flags["--model"]);
  const LabelTable set = read_labels(flags["--labels"]);
  const auto probs = score_images(flags, loaded, set, open_image_source(flags["--images"]), "calibrate");
  loaded.info.operating_points = choose_operating_points(loaded.info.labels, set, probs, rule);
  save_model(out, *loaded.model, loaded.info);
  std::cerr << "operating points, " << loaded.info.operating_points.describe() << "wrote " << out << "\n";
  return 0;
}

// eval --model: the images scored (the rows of `truth` that `preds` names) against the model's
// patient record; a warning, or with `strict` an error.
void check_seen_patients(const ModelInfo& info, const LabelTable& truth, const CsvTable& preds, bool strict) {
  const int column = column_of(preds, {"Image", "Image Index"});
  std::set<std::string> scored;
  for (const CsvRow& row : preds.rows)
    if (column >= 0) scored.insert(row.fields[column]);
  LabelTable table{truth.source, truth.label_names, {}};
  for (const auto& item : truth.images)
    if (scored.count(item.image)) table.images.push_back(item);
  const std::string seen = seen_patients_warning(info.patients, table);
  RG_CHECK(seen.empty() || !strict, "eval --strict: ", seen);
  if (!seen.empty()) std::cerr << "WARNING: " << seen << "\n";
}

int eval(int argc, char** argv) {
  auto flags = parse_flags(argc, argv,
                           {"--labels", "--preds", "--out", "--bootstrap", "--model", "--label-format", "--uncertain",
                            "--views", "--official-split", "--reliability"},
                           {"--strict", "--one-per-patient"});
  require(flags, "eval", {"--labels", "--preds", "--out"});
  cli::label_flags(flags);
  RG_CHECK(!flags.count("--strict") || flags.count("--model"), "eval: --strict needs --model (the model to check)");
  const int bootstrap = int(cli::integer(flags, "--bootstrap", 1000, 0, 100000));
  cli::check_writable_file(flags["--out"]);
  if (flags.count("--reliability")) cli::check_writable_file(flags["--reliability"]);
  const LabelTable truth = read_labels(flags["--labels"]);
  const CsvTable preds = read_csv(flags["--preds"]);
  std::map<std::string, double> thresholds;  // the model's operating points
  if (flags.count("--model")) {
    const ModelInfo info = ModelInfo::from_metadata(read_safetensors(flags["--model"]).metadata, flags["--model"]);
    check_seen_patients(info, truth, preds, flags.count("--strict") > 0);
    thresholds = info.operating_points.thresholds();
    if (info.operating_points.empty()) std::cerr << "note: " << flags["--model"] << " has no operating points\n";
  }
  std::cerr << "roentgen eval: " << preds.rows.size() << " predictions, " << truth.label_names.size() << " labels"
            << (bootstrap ? ", " + std::to_string(bootstrap) + " bootstrap resamples" : "") << "\n";
  const metrics::Evaluation e = metrics::evaluate(truth, preds, bootstrap, 0, thresholds);
  std::cout << e.table();
  write_file_atomic(flags["--out"], e.to_json() + "\n");
  std::cerr << "wrote " << flags["--out"] << "\n";
  if (flags.count("--reliability")) {
    write_file_atomic(flags["--reliability"], report::reliability_diagram("Reliability: " + flags["--preds"], e));
    std::cerr << "wrote " << flags["--reliability"] << "\n";
  }
  return 0;
}

int gradcam(int argc, char** argv) {
  auto flags = parse_flags(
      argc, argv,
      {"--model", "--image", "--images", "--label", "--layer", "--out", "--overlay", "--device", "--max-image-pixels"});
  require(flags, "gradcam", {"--model", "--image", "--label", "--out"});
  const Device device = device_flag(flags);
  cli::image_limit_flag(flags);
  cli::check_writable_file(flags["--out"]);
  if (flags.count("--overlay")) cli::check_writable_file(flags["--overlay"]);
  const LoadedModel loaded = load_model(flags["--model"]);
  loaded.model->to(device);
  const auto& labels = loaded.info.labels;
  const auto it = std::find(labels.begin(), labels.end(), flags["--label"]);
  RG_CHECK(
      it != labels.end(), "gradcam: the model has no label '", flags["--label"], "' (it has ",
      [&] {
        std::string all;
        for (const auto& l : labels) all += (all.empty() ? "" : ", ") + l;
        return all;
      }(),
      ")");
  const int size = int(loaded.info.image_size);
  StoredSize stored;
  const GrayImage image =
      flags.count("--images") ? open_image_source(flags["--images"])->load(flags["--image"], size, size, stored) : [&] {
        const GrayImage file = decode_image(flags["--image"]);
        stored = {file.width, file.height};
        return resize_rounded(file, size, size);
      }();
  InputChecks checks(loaded.info.intensity);
  checks.add(flags["--image"], image, stored);
  for (const std::string& warning : checks.warnings()) std::cerr << "WARNING: " << warning << "\n";
  const Tensor input = image_tensor(image, normalization_of(loaded.info, flags["--model"]));
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

int export_command(int argc, char** argv) {
  auto flags = parse_flags(argc, argv, {"--checkpoint", "--out"});
  require(flags, "export", {"--checkpoint", "--out"});
  cli::check_writable_file(flags["--out"]);
  export_checkpoint(flags["--checkpoint"], flags["--out"]);
  const ModelInfo info = ModelInfo::from_metadata(read_safetensors(flags["--out"]).metadata, flags["--out"]);
  std::cerr << "wrote " << flags["--out"] << "; operating points: " << info.operating_points.describe();
  return 0;
}

int inspect(int argc, char** argv) {
  if (argc == 3 && (std::string(argv[2]) == "--help" || std::string(argv[2]) == "-h")) {
    std::cout << usage_of("inspect");
    return 0;
  }
  RG_CHECK(argc == 3, "inspect: expected one model file\n", usage_of("inspect"));
  const std::string path = argv[2];
  const SafeTensors file = read_safetensors(path);
  std::cout << path << "\n  metadata:\n";
  for (const auto& [k, v] : file.metadata)
    std::cout << "    " << k << " = " << (v.size() > 120 ? v.substr(0, 117) + "..." : v) << "\n";
  int64_t params = 0;
  for (const auto& [name, t] : file.tensors)
    if (is_floating(t.dtype()) && name.find("running_") == std::string::npos) params += t.numel();
  std::cout << "  tensors: " << file.tensors.size() << "\n  parameters: " << params << "\n";
  try {
    const LoadedModel m = load_model(path);
    normalization_of(m.info, path);
    std::cout << "  patient record: "
              << (m.info.patients.empty()
                      ? std::string("none")
                      : std::to_string(m.info.patients.train.size()) + " training and " +
                            std::to_string(m.info.patients.valid.size()) + " validation patients (salted hashes)")
              << "\n";
    std::cout << "  operating points: " << m.info.operating_points.describe();
    std::cout << "  loads as " << m.info.architecture << " with " << m.info.labels.size() << " outputs: ok\n";
    return 0;
  } catch (const Error& e) {
    std::cout << "  problems: " << e.what() << "\n";
    return 1;
  }
}

std::string all_usage() {
  std::string text = "usage:\n";
  for (const Command& c : commands()) text += c.usage;
  return text;
}

// The commands that may run as several ranks, for the error that names them.
std::string several_process_commands() {
  std::string names;
  for (const Command& c : commands())
    if (c.several_processes) names += (names.empty() ? "" : ", ") + std::string(c.name);
  return names;
}

std::string command_list() {
  std::string text = "usage: roentgen COMMAND [--help]\n";
  for (const Command& c : commands()) {
    char line[128];
    std::snprintf(line, sizeof(line), "  %-10s %s\n", c.name, c.summary);
    text += line;
  }
  return text + "roentgen --help prints every command's usage.\n";
}

}  // namespace

int main(int argc, char** argv) {
  rg::cpu::correct_blas_core();              // first: may run the program again (tensor/cpu/blas_core.h)
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each line appears as it is printed, also through a pipe (| tee log)
  return run_job("roentgen", [&] {
    const std::string name = argc > 1 ? argv[1] : "";
    if (name == "--help" || name == "-h") {
      std::cout << all_usage();
      return 0;
    }
    for (const Command& c : commands()) {
      if (name != c.name) continue;
      RG_CHECK(c.several_processes || world().size() == 1, "roentgen ", name,
               " runs as one process; under mpirun only these run on several: ", several_process_commands(), " (",
               world().size(), " were started)");
      return c.run(argc, argv);
    }
    if (!name.empty()) std::cerr << "roentgen: unknown command '" << name << "'\n";
    std::cerr << command_list();
    return 2;
  });
}
