// example_chestxray: the notebook "Chest X-Ray Medical Diagnosis with Deep Learning", step by
// step, in roentgen — data and leakage checks, class imbalance and the weighted loss, DenseNet121,
// training with the notebook's callbacks, ROC curves and AUROC, Grad-CAM, and a report.
// One function per section of the notebook, called in order by main(); `--help` prints the flags
// (kUsage, below) with their defaults.
//
// --data DIR holds train-small.csv (or train.csv), valid-small.csv (or valid.csv), test.csv and
// images/ (or give --images: another folder, or a pack made by roentgen pack). Without --data a
// synthetic dataset is generated and used.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <numeric>

#include "cli/flags.h"
#include "data/csv.h"
#include "data/leakage.h"
#include "data/synthetic.h"
#include "explain/gradcam.h"
#include "metrics/evaluate.h"
#include "report/html.h"
#include "report/reliability.h"
#include "report/sheet.h"
#include "report/svg.h"
#include "tensor/backend.h"
#include "tensor/io.h"
#include "distributed/world.h"
#include "train/recipe.h"
#include "train/session.h"
#include "tensor/parallel.h"
#include "tensor/cpu/blas_core.h"

using namespace rg;
using namespace rg::data;
namespace fs = std::filesystem;

namespace {

// CheXNet (Rajpurkar et al., 2017, Table 1): the published per-class test AUROCs.
const std::map<std::string, double> kCheXNet = {
    {"Atelectasis", 0.8094},  {"Cardiomegaly", 0.9248}, {"Consolidation", 0.7901}, {"Edema", 0.8878},
    {"Effusion", 0.8638},     {"Emphysema", 0.9371},    {"Fibrosis", 0.8047},      {"Hernia", 0.9164},
    {"Infiltration", 0.7345}, {"Mass", 0.8676},         {"Nodule", 0.7802},        {"Pleural_Thickening", 0.8062},
    {"Pneumonia", 0.7680},    {"Pneumothorax", 0.8887}};

std::string fmt(double v, const char* f = "%.3f") {
  char b[32];
  std::snprintf(b, sizeof(b), f, v);
  return b;
}

// The defaults shown are the recipe's (train/recipe.h).
const std::string kUsage =
    "usage: example_chestxray [--data DIR] [--out DIR (chestxray-run)] [--epochs N (" + std::to_string(kRecipe.epochs) +
    ")] [--min-epochs N (" + std::to_string(kRecipe.min_epochs) +
    ")]\n"
    "                         [--batch-size N (" +
    std::to_string(kRecipe.batch_size) + ")] [--lr X (" + fmt(kRecipe.lr, "%g") + ")] [--image-size N (" +
    std::to_string(kRecipe.image_size) +
    ")] [--limit N (0: all)]\n"
    "                         [--weights FILE] [--threads N (2)] [--seed S (0)] [--resume]\n"
    "                         [--device cpu|cuda|cuda:N (cpu)] [--architecture densenet121|densenet121-se (densenet121)]\n"
    "                         [--max-image-pixels N] [--no-augment] [--no-shuffle]\n"
    "                         [--label-format auto|nih|notebook|chexpert|mimic|vindr|padchest|rsna]\n"
    "                         [--official-split train|validate|test]\n"
    "                         [--uncertain ignore|ones|zeros] [--views PA,AP,...] [--one-per-patient]\n"
    "                         [--normalization sample|notebook (sample)] [--images DIR|FILE.rgpack (DIR/images)]\n"
    "                         [--operating-point youden|sensitivity=S|specificity=S|ppv=P (youden)]\n";

struct Args {
  std::string data, images, out, weights, architecture;
  Device device;
  int epochs, min_epochs, image_size, batch_size, threads;
  double lr;
  int64_t limit;
  uint64_t seed;
  bool resume, augment, shuffle, notebook_normalization;
  metrics::OperatingRule operating_point;
};

// Every flag checked (cli/flags.h) before any work: no GPU, or a CPU-only build, is a clear
// error here.
Args parse(int argc, char** argv) {
  cli::Flags f = cli::parse_flags(argc, argv, 1, {"--data",          "--images",         "--out",
                                                  "--epochs",        "--min-epochs",     "--lr",
                                                  "--image-size",    "--batch-size",     "--limit",
                                                  "--weights",       "--threads",        "--seed",
                                                  "--device",        "--architecture",   "--max-image-pixels",
                                                  "--normalization", "--label-format",   "--uncertain",
                                                  "--views",         "--official-split", "--operating-point"},
                                  kUsage.c_str(), {"--resume", "--no-augment", "--no-shuffle", "--one-per-patient"});
  cli::image_limit_flag(f);
  cli::label_flags(f);
  return {.data = f["--data"],
          .images = f["--images"],
          .out = f.count("--out") ? f["--out"] : "chestxray-run",
          .weights = f["--weights"],
          .architecture = f["--architecture"],
          .device = cli::device_flag(f),
          .epochs = int(cli::integer(f, "--epochs", kRecipe.epochs, 1, 100000)),
          .min_epochs = int(cli::integer(f, "--min-epochs", kRecipe.min_epochs, 1, 100000)),
          .image_size = int(cli::integer(f, "--image-size", kRecipe.image_size, 32, 4096)),
          .batch_size = int(cli::integer(f, "--batch-size", kRecipe.batch_size, 2, 4096)),
          .threads = cli::threads(f, 2),
          .lr = cli::real(f, "--lr", kRecipe.lr, 1e-12, 10),
          .limit = cli::integer(f, "--limit", 0, 0, int64_t(1) << 40),
          .seed = cli::seed(f),
          .resume = f.count("--resume") > 0,
          .augment = !f.count("--no-augment"),
          .shuffle = !f.count("--no-shuffle"),
          .notebook_normalization = cli::normalization_flag(f),
          .operating_point =
              metrics::OperatingRule::parse(f.count("--operating-point") ? f["--operating-point"] : "youden")};
}

// A section of the notebook; flushed, so that `example_chestxray | tee log` shows it as it happens.
void step(const std::string& title) { std::cout << "\n=== " << title << " ===" << std::endl; }

std::string first_existing(const fs::path& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (fs::exists(dir / n)) return (dir / n).string();
  std::string all;
  for (const char* n : names) all += std::string(all.empty() ? "" : " or ") + n;
  throw Error(dir.string() + ": no " + all);
}

std::string interval(double low, double high) {
  char b[48];
  std::snprintf(b, sizeof(b), "[%.3f, %.3f]", low, high);
  return b;
}

// ---- What the sections share ----------------------------------------------------------------

// The run: its arguments, its output folder, the data (the session's tables and model, the test
// table) and what the report collects along the way.
struct Run {
  Args args;
  fs::path out, dir;  // the output folder; the data folder
  bool synthetic = false;
  SessionOptions so;
  Session session;
  LabelTable test;
  report::HtmlReport html{"Chest X-ray diagnosis with DenseNet121 — roentgen"};
  const std::vector<std::string>& labels() const { return session.info.labels; }
};

// A picture of the report, written beside it too.
std::string chart(const Run& run, const std::string& file, std::string svg) {
  write_file_atomic((run.out / file).string(), svg);
  return svg;
}

// ---- 2.1 Loading the data ---------------------------------------------------------------------
// The label files (the notebook's train-small/valid-small/test CSVs, or a synthetic set made
// here), the model (random or --weights), and a look at the first rows.
void load_data(Run& run) {
  step("2.1 Loading the data");
  const Args& a = run.args;
  run.dir = a.data;
  run.synthetic = a.data.empty();
  if (run.synthetic) {
    run.dir = run.out / "synthetic-data";
    std::cout << "No --data given: generating a synthetic chest X-ray dataset in " << run.dir.string()
              << " (gray films with planted findings; see data/synthetic.h).\n";
    if (!fs::exists(run.dir / "labels.csv"))
      write_synthetic_dataset(
          run.dir.string(),
          {.patients = 300, .max_images_per_patient = 3, .size = 256, .seed = a.seed, .prevalence_scale = 3.0});
  }
  run.so = {.train_csv = first_existing(run.dir, {"train-small.csv", "train.csv"}),
            .valid_csv = first_existing(run.dir, {"valid-small.csv", "valid.csv"}),
            .images = a.images.empty() ? (run.dir / "images").string() : a.images,
            .weights = a.weights,
            .architecture = a.architecture,
            .image_size = a.image_size,
            .batch_size = a.batch_size,
            .threads = a.threads,
            .limit = a.limit,
            .seed = a.seed,
            .augment = a.augment,
            .shuffle = a.shuffle,
            .notebook_normalization = a.notebook_normalization,
            .operating_point = a.operating_point};
  run.test = first_images(read_labels(first_existing(run.dir, {"test.csv"})), a.limit);
  run.session = prepare_session(run.so);
  const Session& s = run.session;
  std::cout << "train: " << s.train.size() << " images (" << run.so.train_csv << ")\nvalid: " << s.valid.size()
            << " images\ntest:  " << run.test.size() << " images\nlabels (" << run.labels().size() << "):";
  for (const auto& l : run.labels()) std::cout << " " << l;
  std::cout << "\nfirst training rows:\n";
  for (size_t i = 0; i < std::min<size_t>(3, s.train.size()); ++i) {
    const auto& item = s.train.images[i];
    std::cout << "  " << item.image << "  patient " << item.patient_id << "  findings:";
    for (size_t k = 0; k < run.labels().size(); ++k)
      if (item.labels[k] > 0.5f) std::cout << " " << run.labels()[k];
    std::cout << "\n";
  }
  run.html.paragraph(std::string("Data: ") + (run.synthetic ? "synthetic chest X-rays (generated)" : run.dir.string()) +
                     "; train " + std::to_string(s.train.size()) + ", valid " + std::to_string(s.valid.size()) +
                     ", test " + std::to_string(run.test.size()) + " images; " + std::to_string(a.image_size) + " px.");
  for (const auto& note : s.notes) run.html.paragraph("Note: " + note);
}

// ---- 2.2 Preventing data leakage --------------------------------------------------------------
// The notebook's exercise on its two test cases, then every pair of the real splits.
void check_leakage(Run& run) {
  step("2.2 Preventing data leakage");
  const CsvTable df1 = parse_csv("patient_id\n0\n1\n2\n", "df1");
  auto leaks = [&](const char* other) {
    return check_for_leakage(df1, parse_csv(other, "df2"), "patient_id") ? "True" : "False";
  };
  std::cout << "Exercise 1, test case 1 (patients 0,1,2 vs 2,3,4): leakage output: " << leaks("patient_id\n2\n3\n4\n")
            << "\n"
            << "Exercise 1, test case 2 (patients 0,1,2 vs 3,4,5): leakage output: " << leaks("patient_id\n3\n4\n5\n")
            << "\n";
  std::vector<std::vector<std::string>> rows;
  using Pair = std::tuple<std::string, const LabelTable*, const LabelTable*>;
  for (const auto& [name, a, b] :
       {Pair{"train and valid", &run.session.train, &run.session.valid},
        Pair{"train and test", &run.session.train, &run.test}, Pair{"valid and test", &run.session.valid, &run.test}}) {
    const LeakageReport r = find_leakage(*a, *b);
    const std::string verdict =
        r.leaked() ? "True (" + std::to_string(r.shared_patients.size()) + " patients)" : std::string("False");
    std::cout << "leakage between " << name << ": " << verdict << "\n";
    rows.push_back({name, verdict});
  }
  run.html.heading("Patient leakage");
  run.html.table({"splits", "leakage"}, rows);
}

// ---- 2.3 Preparing images ---------------------------------------------------------------------
// How images are normalized and augmented, and one training batch as the model sees it.
void prepare_images(Run& run) {
  step("2.3 Preparing images");
  const Args& a = run.args;
  std::cout << "training: per-image normalization (the notebook's generator), "
            << (a.augment ? "random horizontal flips" : "no augmentation") << "; " << a.image_size << "x"
            << a.image_size << ", 3 channels\nvalid/test: " << run.session.eval_normalization.describe() << "\n";
  if (a.notebook_normalization)
    std::cout << "(--normalization notebook: as in the notebook, validation and test images are normalized with the\n"
                 " dataset mean/std above while training used each image's own; the model sees differently scaled\n"
                 " inputs at evaluation. Section 5.1 prints the test AUROC both ways.)\n";
  else
    std::cout << "(each image is normalized by its own mean and std in training and evaluation alike; the notebook\n"
                 " instead uses a dataset mean/std for validation and test: --normalization notebook)\n";
  DataLoader preview(run.session.train, run.session.images,
                     {.batch_size = 16,
                      .width = a.image_size,
                      .height = a.image_size,
                      .seed = a.seed,
                      .threads = 1,
                      .augment = a.augment});
  preview.start_epoch(0);
  Batch batch;
  preview.next(batch);
  const std::string path = (run.out / "batch.png").string();
  write_png(path, report::batch_sheet(batch.images));
  std::cout << "wrote " << path << ": a training batch as the model sees it\n";
  run.html.heading("A training batch");
  run.html.png(read_file(path), "16 training images after augmentation and normalization", 640);
}

// ---- 3.1 Addressing class imbalance -----------------------------------------------------------
// Each label's positive frequency, and what the weighted loss makes of each class's share.
void class_imbalance(Run& run) {
  step("3.1 Addressing class imbalance");
  const ClassFrequencies freq = compute_class_freqs(run.session.train.label_matrix());
  const auto pos = freq.positive.to_vector<double>(), neg = freq.negative.to_vector<double>();
  std::cout << "freq_pos:";
  for (double p : pos) std::cout << " " << fmt(p);
  std::cout
      << "\n(w_pos = freq_neg, w_neg = freq_pos: weighted, each class's positives and negatives contribute equally)\n";
  std::vector<double> weighted(pos.size());
  for (size_t k = 0; k < pos.size(); ++k) weighted[k] = neg[k] * pos[k];  // w_pos * freq_pos = w_neg * freq_neg
  const auto& labels = run.labels();
  run.html.heading("Class imbalance");
  run.html.raw(chart(run, "class_frequencies.svg",
                     report::bar_chart("Positive frequency per label (training set)", labels,
                                       {{"positive", pos, "#1f77b4"}}, "fraction of images")));
  run.html.raw(chart(run, "contributions.svg",
                     report::bar_chart("Contributions to the loss, unweighted", labels,
                                       {{"positive", pos, "#2ca02c"}, {"negative", neg, "#d62728"}}, "share")));
  run.html.raw(
      chart(run, "contributions_weighted.svg",
            report::bar_chart("Contributions to the loss, weighted", labels,
                              {{"positive", weighted, "#2ca02c"}, {"negative", weighted, "#d62728"}}, "share")));
}

// ---- 3.2 DenseNet121 --------------------------------------------------------------------------
void describe_model(const Run& run) {
  step("3.2 DenseNet121");
  std::cout << run.session.info.architecture << " -> global average pooling -> dense layer with " << run.labels().size()
            << " sigmoid outputs; " << run.session.model->num_parameters() << " parameters\n";
  for (const auto& note : run.session.notes) std::cout << "NOTE: " << note << "\n";
}

// ---- 4. Training ------------------------------------------------------------------------------
// The recipe (train/recipe.h) with the notebook's callbacks, then the loss and AUROC per epoch.
TrainResult train_model(Run& run) {
  step("4. Training");
  const Args& a = run.args;
  std::cout << a.epochs << " epochs, batch " << a.batch_size << ", Adam lr " << a.lr << ", weighted loss; "
            << "callbacks: best model by val_loss from epoch " << a.min_epochs
            << " on, learning rate /10 on a plateau, "
            << "early stopping (patience 3) restoring the best weights; on " << a.device << "\n";
  const TrainResult trained = run_session(run.session, run.so,
                                          {.epochs = a.epochs,
                                           .adam = {.lr = a.lr},
                                           .out_dir = a.out,
                                           .min_epochs = a.min_epochs,
                                           .resume = a.resume,
                                           .device = a.device});
  if (!trained.stop_reason.empty()) std::cout << "training stopped: " << trained.stop_reason << "\n";
  RG_CHECK(!trained.history.empty(), "training produced no epoch: ", trained.stop_reason);
  std::cout << "best epoch: " << trained.best_epoch << " (weights restored); logs in " << (run.out / "log.csv").string()
            << " and " << (run.out / "tensorboard").string() << "\n";

  std::vector<double> epochs, train_loss, val_loss, val_auc;
  for (const auto& e : trained.history) {
    epochs.push_back(e.epoch);
    train_loss.push_back(e.train_loss);
    val_loss.push_back(e.val_loss);
    val_auc.push_back(e.val_mean_auc.value_or(0.5));
  }
  const auto [low, high] = std::minmax(
      {*std::min_element(train_loss.begin(), train_loss.end()), *std::min_element(val_loss.begin(), val_loss.end()),
       *std::max_element(train_loss.begin(), train_loss.end()), *std::max_element(val_loss.begin(), val_loss.end())});
  const double last = std::max(2.0, double(epochs.size()));
  run.html.heading("Training");
  run.html.paragraph(std::to_string(trained.history.size()) + " epochs; the best by validation loss, epoch " +
                     std::to_string(trained.best_epoch) + ", is the model evaluated below.");
  run.html.raw(
      chart(run, "loss.svg",
            report::line_chart("Loss per epoch",
                               {.x_label = "epoch",
                                .y_label = "weighted loss",
                                .x_min = 1,
                                .x_max = last,
                                .y_min = low,
                                .y_max = high,
                                .whole_x = true},
                               {{"train", epochs, train_loss, "#1f77b4"}, {"valid", epochs, val_loss, "#ff7f0e"}})));
  run.html.raw(chart(run, "auroc.svg",
                     report::line_chart("Validation mean AUROC per epoch",
                                        {.x_label = "epoch",
                                         .y_label = "mean AUROC",
                                         .x_min = 1,
                                         .x_max = last,
                                         .y_min = 0.3,
                                         .y_max = 1,
                                         .whole_x = true},
                                        {{"valid", epochs, val_auc, "#2ca02c"}})));
  return trained;
}

// ---- 5.1 ROC curves and AUROC -----------------------------------------------------------------

// The test set's probabilities, normalized as evaluation normalizes: [image][label].
std::vector<std::vector<float>> predict_test(const Run& run, const Normalization& normalization, bool progress,
                                             Tta tta = Tta::kNone) {
  const Args& a = run.args;
  DataLoader loader(run.test, run.session.images,
                    {.batch_size = a.batch_size,
                     .width = a.image_size,
                     .height = a.image_size,
                     .shuffle = false,
                     .threads = a.threads,
                     .normalization = normalization});
  return predict_all(*run.session.model, loader, progress, tta);
}

// Per label: the truth and the probabilities of every test image.
std::pair<std::vector<std::vector<float>>, std::vector<std::vector<float>>> by_label(
    const Run& run, const std::vector<std::vector<float>>& probs) {
  std::vector<std::vector<float>> y(run.labels().size()), p(run.labels().size());
  for (size_t i = 0; i < run.test.size(); ++i)
    for (size_t k = 0; k < run.labels().size(); ++k) {
      y[k].push_back(run.test.images[i].labels[k]);
      p[k].push_back(probs[i][k]);
    }
  return {y, p};
}

// With --normalization notebook: the test AUROC the notebook's way and as in training.
void compare_normalizations(const Run& run, const std::vector<std::vector<float>>& probs) {
  const auto other = predict_test(run, Normalization::sample(), false);
  const auto [y, p] = by_label(run, probs);
  const auto [y2, p2] = by_label(run, other);
  const auto notebook = metrics::evaluate(run.labels(), y, p).mean_auc,
             sample = metrics::evaluate(run.labels(), y2, p2).mean_auc;
  std::cout << "test mean AUROC with the dataset mean/std (the notebook's way): "
            << (notebook ? fmt(*notebook) : "undefined")
            << "\ntest mean AUROC with per-image normalization (as in training):  "
            << (sample ? fmt(*sample) : "undefined") << "\n";
}

// Test-time augmentation beside the plain predictions: each test image's probabilities averaged
// with its mirror image's (predict --tta flip).
void test_time_flip(Run& run, const metrics::Evaluation& plain) {
  const auto [y, p] = by_label(run, predict_test(run, run.session.eval_normalization, false, Tta::kFlip));
  const auto flipped = metrics::evaluate(run.labels(), y, p).mean_auc;
  const std::string text = "Test mean AUROC with each image averaged with its mirror image (predict --tta flip): " +
                           (flipped ? fmt(*flipped) : "undefined") +
                           "; plain: " + (plain.mean_auc ? fmt(*plain.mean_auc) : "undefined") + ".";
  std::cout << text << "\n";
  run.html.paragraph(text);
}

// The test set decided at the operating points chosen on the validation set (models/operating_points.h).
void decisions_table(Run& run, const metrics::Evaluation& eval) {
  const OperatingPoints& points = run.session.info.operating_points;
  if (points.empty()) return;
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : eval.per_label)
    if (m.decisions)
      rows.push_back({m.label, fmt(*m.threshold, "%.4f"), m.decisions->sensitivity().text(),
                      m.decisions->specificity().text(), m.decisions->ppv().text(), m.decisions->npv().text()});
  run.html.heading("Test set: decisions at the operating points");
  run.html.paragraph("Each label's threshold was chosen on the validation set (" + points.rule + " on " + points.set +
                     ") and stored in best.safetensors; predict decides by it. Sensitivity, specificity, PPV and "
                     "NPV on the test set, with 95% Wilson intervals. Labels without a threshold (one class in the "
                     "validation set) are left out.");
  run.html.table({"label", "threshold", "sensitivity", "specificity", "PPV", "NPV"}, rows);
}

// Whether the test probabilities mean what they say (metrics/calibration.h).
void calibration_section(Run& run, const metrics::Evaluation& eval) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : eval.per_label)
    if (m.calibration) rows.push_back({m.label, fmt(m.calibration->ece), fmt(m.calibration->brier, "%.4f")});
  run.html.heading("Test set: calibration");
  run.html.paragraph(
      "Per label, the test probabilities in 10 equal-mass bins: each bin's mean probability against "
      "its fraction of positives (on the diagonal: a probability of 0.3 means 30%). ECE weighs each "
      "bin's gap by its share of the images; the Brier score is the mean squared error.");
  run.html.raw(chart(run, "reliability.svg", report::reliability_diagram("Reliability on the test set", eval)));
  run.html.table({"label", "ECE", "Brier score"}, rows);
}

// Predictions, preds.csv, metrics.json with bootstrap intervals, the ROC curves and the AUROC table.
std::vector<std::vector<float>> roc_and_auroc(Run& run, metrics::Evaluation& eval) {
  step("5.1 Prediction on the test set: ROC curves and AUROC");
  // The model's patient record (models/patient_record.h) against the test set: 2.2's check, from the model's side.
  const std::string seen = seen_patients_warning(run.session.info.patients, run.test);
  std::cout << (seen.empty() ? "no test image belongs to a patient the model trained or validated on"
                             : "WARNING: " + seen)
            << "\n";
  const auto probs = predict_test(run, run.session.eval_normalization, true);
  if (run.args.notebook_normalization) compare_normalizations(run, probs);
  std::vector<std::string> images;
  for (const auto& item : run.test.images) images.push_back(item.image);
  const OperatingPoints& points = run.session.info.operating_points;  // chosen on the validation set
  write_file_atomic((run.out / "preds.csv").string(),
                    metrics::predictions_csv(images, run.labels(), probs, points.thresholds(run.labels()),
                                             points.empty() ? metrics::PredictionColumns::kProbabilities
                                                            : metrics::PredictionColumns::kBoth));
  const auto [y, p] = by_label(run, probs);
  eval = metrics::evaluate(run.labels(), y, p, 1000, run.args.seed, points.thresholds());
  write_file_atomic((run.out / "metrics.json").string(), eval.to_json() + "\n");
  std::cout << eval.table();

  std::vector<report::LineSeries> roc;
  std::vector<std::vector<std::string>> rows;
  for (size_t k = 0; k < run.labels().size(); ++k) {
    const std::string& label = run.labels()[k];
    const auto& m = eval.per_label[k];
    if (auto curve = metrics::roc_curve(y[k], p[k]))
      roc.push_back({label + " (" + fmt(*m.auc) + ")", curve->fpr, curve->tpr, report::palette(k)});
    rows.push_back({label, std::to_string(m.positives), m.auc ? fmt(*m.auc) : "undefined",
                    m.auc_ci95 ? interval(m.auc_ci95->low, m.auc_ci95->high) : "",
                    fmt(kCheXNet.count(label) ? kCheXNet.at(label) : std::nan(""))});
  }
  run.html.heading("Test set: ROC curves and AUROC");
  run.html.raw(chart(run, "roc_curves.svg",
                     report::line_chart("ROC curves on the test set",
                                        {"false positive rate", "true positive rate", 0, 1, 0, 1, true}, roc)));
  run.html.table({"label", "positives", "AUROC", "95% CI (bootstrap)", "CheXNet (published)"}, rows);
  if (eval.mean_auc)
    run.html.paragraph("Mean AUROC " + fmt(*eval.mean_auc) + " over " + std::to_string(eval.n) + " test images.");
  test_time_flip(run, eval);
  decisions_table(run, eval);
  calibration_section(run, eval);
  return probs;
}

// ---- 5.2 Visualizing learning with Grad-CAM ---------------------------------------------------

// A test image at the model's input size, and its Grad-CAM for label k.
explain::GradCam gradcam_of(const Run& run, const std::string& image_name, size_t k, GrayImage& image) {
  image = run.session.images->load(image_name, run.args.image_size, run.args.image_size);
  return explain::gradcam(*run.session.model, image_tensor(image, run.session.eval_normalization), int64_t(k));
}

// The synthetic data's pointing game: it knows where each finding was planted (boxes.csv), so
// count how often the heat map's maximum falls inside the box, over correctly detected positives.
std::string pointing_game(const Run& run, const std::vector<std::vector<float>>& probs) {
  if (!fs::exists(run.dir / "boxes.csv")) return "";
  const CsvTable boxes = read_csv((run.dir / "boxes.csv").string());
  std::map<std::string, size_t> test_row;
  for (size_t i = 0; i < run.test.size(); ++i) test_row[run.test.images[i].image] = i;
  const int size = run.args.image_size;
  const double scale =
      double(size) / double(decode_image((run.dir / "images" / run.test.images[0].image).string()).width);
  int hits = 0, tried = 0;
  for (const auto& row : boxes.rows) {
    const auto it = test_row.find(row.fields[0]);
    const auto label = std::find(run.labels().begin(), run.labels().end(), row.fields[1]);
    if (it == test_row.end() || label == run.labels().end() || tried >= 40) continue;
    const size_t k = size_t(label - run.labels().begin());
    if (probs[it->second][k] < 0.5f) continue;  // correctly detected positives only
    GrayImage image;
    const explain::GradCam cam = gradcam_of(run, row.fields[0], k, image);
    const size_t at =
        size_t(std::max_element(cam.heat.pixels.begin(), cam.heat.pixels.end()) - cam.heat.pixels.begin());
    const double x = double(at % size_t(size)) / scale, y = double(at / size_t(size)) / scale;
    const double bx = std::stod(row.fields[2]), by = std::stod(row.fields[3]), bw = std::stod(row.fields[4]),
                 bh = std::stod(row.fields[5]);
    hits += x >= bx && x <= bx + bw && y >= by && y <= by + bh;
    ++tried;
  }
  if (!tried) return "pointing game: no correctly detected positives (probability >= 0.5) among the test images";
  return "pointing game: the heat map's maximum fell inside the planted finding's box for " + std::to_string(hits) +
         " of " + std::to_string(tried) + " correctly detected positives (" + fmt(100.0 * hits / tried, "%.0f") + "%)";
}

// Heat maps for the two most likely test images of each of the four best-detected labels.
void gradcam_section(Run& run, const std::vector<std::vector<float>>& probs, const metrics::Evaluation& eval) {
  step("5.2 Visualizing learning with Grad-CAM");
  std::vector<size_t> order(run.labels().size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return eval.per_label[a].auc.value_or(0) > eval.per_label[b].auc.value_or(0);
  });
  order.resize(std::min<size_t>(4, order.size()));
  run.html.heading("Grad-CAM");
  for (size_t k : order) {
    std::vector<size_t> by_prob(run.test.size());
    std::iota(by_prob.begin(), by_prob.end(), 0);
    std::stable_sort(by_prob.begin(), by_prob.end(), [&](size_t a, size_t b) { return probs[a][k] > probs[b][k]; });
    for (size_t j = 0; j < std::min<size_t>(2, by_prob.size()); ++j) {
      const auto& item = run.test.images[by_prob[j]];
      const std::string& label = run.labels()[k];
      GrayImage image;
      const explain::GradCam cam = gradcam_of(run, item.image, k, image);
      const std::string name = label + "_" + fs::path(item.image).stem().string() + ".png";
      const std::string path = (run.out / "gradcam" / name).string();
      explain::write_overlay_png(path, image, cam.heat, std::min(0.5, cam.probability));
      run.html.png(read_file(path),
                   label + ": p = " + fmt(cam.probability) + (item.labels[k] > 0.5f ? " (positive)" : " (negative)"),
                   240);
      std::cout << "gradcam/" << name << "  p(" << label << ") = " << fmt(cam.probability) << "\n";
    }
  }
  const std::string pointing = pointing_game(run, probs);
  if (!pointing.empty()) {
    std::cout << pointing << "\n";
    run.html.paragraph(pointing);
  }
}

// ---- The report -------------------------------------------------------------------------------
// Each section added its part as it ran.
void write_report(const Run& run) {
  step("Report");
  run.html.write((run.out / "report.html").string());
  std::cout << "wrote " << (run.out / "report.html").string() << " (open it in a browser), metrics.json, preds.csv, "
            << "best.safetensors, last.safetensors, log.csv, tensorboard/, *.svg, batch.png, gradcam/*.png\n";
}

}  // namespace

int main(int argc, char** argv) {
  rg::cpu::correct_blas_core();              // first: may run the program again (tensor/cpu/blas_core.h)
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each line appears as it is printed, also through a pipe (| tee log)
  try {
    Run run{.args = parse(argc, argv)};
    RG_CHECK(launcher_world_size() <= 1, "example_chestxray runs as one process (", launcher_world_size(),
             " were started): for several, mpirun roentgen train (README: Training on many processes)");
    run.out = run.args.out;
    rg::set_num_threads(run.args.threads);
    manual_seed(run.args.seed);
    fs::create_directories(run.out / "gradcam");
    load_data(run);
    check_leakage(run);
    prepare_images(run);
    class_imbalance(run);
    describe_model(run);
    const TrainResult trained = train_model(run);
    metrics::Evaluation eval;
    const auto probs = roc_and_auroc(run, eval);
    gradcam_section(run, probs, eval);
    write_report(run);
    return 0;
  } catch (const std::exception& e) {  // rg::Error, and anything else (out of memory, the file system)
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
