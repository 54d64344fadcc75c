// example_chestxray: the notebook "Chest X-Ray Medical Diagnosis with Deep Learning", step by
// step, in roentgen — data and leakage checks, class imbalance and the weighted loss, DenseNet121,
// training with the notebook's callbacks, ROC curves and AUROC, Grad-CAM, and a report.
//
//   example_chestxray [--data DIR] [--out DIR] [--epochs N] [--image-size N] [--batch-size N]
//                     [--limit N] [--weights FILE] [--threads N] [--seed S] [--resume]
//                     [--device cpu|cuda|cuda:N] [--architecture densenet121|densenet121-se]
//
// --data DIR holds train-small.csv (or train.csv), valid-small.csv (or valid.csv), test.csv and
// images/. Without --data a synthetic dataset is generated and used.

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
#include "report/sheet.h"
#include "report/svg.h"
#include "tensor/backend.h"
#include "tensor/io.h"
#include "train/recipe.h"
#include "train/session.h"
#include "tensor/parallel.h"

using namespace rg;
using namespace rg::data;
namespace fs = std::filesystem;

namespace {

// CheXNet (Rajpurkar et al., 2017, Table 1): the published per-class test AUROCs.
const std::map<std::string, double> kCheXNet = {
    {"Atelectasis", 0.8094}, {"Cardiomegaly", 0.9248}, {"Consolidation", 0.7901}, {"Edema", 0.8878},
    {"Effusion", 0.8638},    {"Emphysema", 0.9371},    {"Fibrosis", 0.8047},      {"Hernia", 0.9164},
    {"Infiltration", 0.7345}, {"Mass", 0.8676},        {"Nodule", 0.7802},        {"Pleural_Thickening", 0.8062},
    {"Pneumonia", 0.7680},    {"Pneumothorax", 0.8887}};

const char* kUsage =
    "usage: example_chestxray [--data DIR] [--out DIR] [--epochs N] [--image-size N] [--batch-size N]\n"
    "                         [--lr X] [--min-epochs N] [--limit N] [--weights FILE] [--threads N] [--seed S] [--resume]\n"
    "                         [--device cpu|cuda|cuda:N] [--architecture densenet121|densenet121-se]\n"
    "                         [--max-image-pixels N] [--no-augment] [--no-shuffle]\n"
    "                         [--normalization sample|notebook]\n";

struct Args {
  std::string data, out, weights, architecture;
  Device device;
  int epochs, min_epochs, image_size, batch_size, threads;
  double lr;
  int64_t limit;
  uint64_t seed;
  bool resume, augment, shuffle, notebook_normalization;
};

// Every flag checked (cli/flags.h) before any work: no GPU, or a CPU-only build, is a clear
// error here.
Args parse(int argc, char** argv) {
  cli::Flags f = cli::parse_flags(argc, argv, 1, {"--data", "--out", "--epochs", "--min-epochs", "--lr", "--image-size",
                                                   "--batch-size", "--limit",
                                                   "--weights", "--threads", "--seed", "--device", "--architecture",
                                                   "--max-image-pixels", "--normalization"},
                                  kUsage, {"--resume", "--no-augment", "--no-shuffle"});
  cli::image_limit_flag(f);
  return {.data = f["--data"], .out = f.count("--out") ? f["--out"] : "chestxray-run", .weights = f["--weights"],
          .architecture = f["--architecture"], .device = cli::device_flag(f),
          .epochs = int(cli::integer(f, "--epochs", kRecipe.epochs, 1, 100000)),
          .min_epochs = int(cli::integer(f, "--min-epochs", kRecipe.min_epochs, 1, 100000)),
          .image_size = int(cli::integer(f, "--image-size", kRecipe.image_size, 32, 4096)),
          .batch_size = int(cli::integer(f, "--batch-size", kRecipe.batch_size, 2, 4096)), .threads = cli::threads(f, 2),
          .lr = cli::real(f, "--lr", kRecipe.lr, 1e-12, 10),
          .limit = cli::integer(f, "--limit", 0, 0, int64_t(1) << 40), .seed = cli::seed(f), .resume = f.count("--resume") > 0,
          .augment = !f.count("--no-augment"), .shuffle = !f.count("--no-shuffle"),
          .notebook_normalization = cli::normalization_flag(f)};
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

std::string fmt(double v, const char* f = "%.3f") {
  char b[32];
  std::snprintf(b, sizeof(b), f, v);
  return b;
}

std::string interval(double low, double high) {
  char b[48];
  std::snprintf(b, sizeof(b), "[%.3f, %.3f]", low, high);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each line appears as it is printed, also through a pipe (| tee log)
  try {
    const Args args = parse(argc, argv);
    const Device device = args.device;
    rg::set_num_threads(args.threads);
    manual_seed(args.seed);
    fs::create_directories(fs::path(args.out) / "gradcam");
    const fs::path out(args.out);
    report::HtmlReport html("Chest X-ray diagnosis with DenseNet121 — roentgen");

    // ---- 2.1 The data -------------------------------------------------------------------------
    step("2.1 Loading the data");
    fs::path dir = args.data;
    const bool synthetic = args.data.empty();
    if (synthetic) {
      dir = out / "synthetic-data";
      std::cout << "No --data given: generating a synthetic chest X-ray dataset in " << dir.string()
                << " (gray films with planted findings; see data/synthetic.h).\n";
      if (!fs::exists(dir / "labels.csv"))
        write_synthetic_dataset(dir.string(), {.patients = 300, .max_images_per_patient = 3, .size = 256, .seed = args.seed,
                                               .prevalence_scale = 3.0});
    }
    SessionOptions so{.train_csv = first_existing(dir, {"train-small.csv", "train.csv"}),
                      .valid_csv = first_existing(dir, {"valid-small.csv", "valid.csv"}),
                      .image_dir = (dir / "images").string(), .weights = args.weights,
                      .architecture = args.architecture, .image_size = args.image_size,
                      .batch_size = args.batch_size, .threads = args.threads, .limit = args.limit, .seed = args.seed,
                      .augment = args.augment, .shuffle = args.shuffle,
                      .notebook_normalization = args.notebook_normalization};
    const LabelTable test = first_images(read_labels(first_existing(dir, {"test.csv"})), args.limit);
    Session session = prepare_session(so);
    const auto& labels = session.info.labels;
    std::cout << "train: " << session.train.size() << " images (" << so.train_csv << ")\nvalid: " << session.valid.size()
              << " images\ntest:  " << test.size() << " images\nlabels (" << labels.size() << "):";
    for (const auto& l : labels) std::cout << " " << l;
    std::cout << "\nfirst training rows:\n";
    for (size_t i = 0; i < std::min<size_t>(3, session.train.size()); ++i) {
      std::cout << "  " << session.train.images[i].image << "  patient " << session.train.images[i].patient_id << "  findings:";
      for (size_t k = 0; k < labels.size(); ++k)
        if (session.train.images[i].labels[k] > 0.5f) std::cout << " " << labels[k];
      std::cout << "\n";
    }

    // ---- 2.2 Leakage --------------------------------------------------------------------------
    step("2.2 Preventing data leakage");
    const CsvTable df1 = parse_csv("patient_id\n0\n1\n2\n", "df1");
    std::cout << "Exercise 1, test case 1 (patients 0,1,2 vs 2,3,4): leakage output: "
              << (check_for_leakage(df1, parse_csv("patient_id\n2\n3\n4\n", "df2"), "patient_id") ? "True" : "False") << "\n"
              << "Exercise 1, test case 2 (patients 0,1,2 vs 3,4,5): leakage output: "
              << (check_for_leakage(df1, parse_csv("patient_id\n3\n4\n5\n", "df2"), "patient_id") ? "True" : "False") << "\n";
    std::vector<std::vector<std::string>> leak_rows;
    using Pair = std::tuple<std::string, const LabelTable*, const LabelTable*>;
    for (const auto& [name, a, b] : {Pair{"train and valid", &session.train, &session.valid},
                                     Pair{"train and test", &session.train, &test},
                                     Pair{"valid and test", &session.valid, &test}}) {
      const LeakageReport r = find_leakage(*a, *b);
      std::cout << "leakage between " << name << ": " << (r.leaked() ? "True" : "False");
      if (r.leaked()) std::cout << " (" << r.shared_patients.size() << " patients)";
      std::cout << "\n";
      leak_rows.push_back({name, r.leaked() ? "True (" + std::to_string(r.shared_patients.size()) + " patients)" : std::string("False")});
    }

    // ---- 2.3 Preparing images -----------------------------------------------------------------
    step("2.3 Preparing images");
    std::cout << "training: per-image normalization (the notebook's generator), "
              << (args.augment ? "random horizontal flips" : "no augmentation") << "; " << args.image_size << "x"
              << args.image_size << ", 3 channels\nvalid/test: " << session.eval_normalization.describe() << "\n";
    if (args.notebook_normalization)
      std::cout << "(--normalization notebook: as in the notebook, validation and test images are normalized with the\n"
                   " dataset mean/std above while training used each image's own; the model sees differently scaled\n"
                   " inputs at evaluation. Section 5.1 prints the test AUROC both ways.)\n";
    else
      std::cout << "(each image is normalized by its own mean and std in training and evaluation alike; the notebook\n"
                   " instead uses a dataset mean/std for validation and test: --normalization notebook)\n";
    {
      DataLoader preview(session.train, so.image_dir,
                         {.batch_size = 16, .width = args.image_size, .height = args.image_size, .seed = args.seed, .threads = 1,
                          .augment = args.augment});
      preview.start_epoch(0);
      Batch batch;
      preview.next(batch);
      const GrayImage sheet = report::batch_sheet(batch.images);
      write_png((out / "batch.png").string(), sheet);
      std::cout << "wrote " << (out / "batch.png").string() << ": a training batch as the model sees it\n";
    }

    // ---- 3.1 Class imbalance ------------------------------------------------------------------
    step("3.1 Addressing class imbalance");
    const ClassFrequencies freq = compute_class_freqs(session.train.label_matrix());
    const auto pos = freq.positive.to_vector<double>(), neg = freq.negative.to_vector<double>();
    std::cout << "freq_pos:";
    for (double p : pos) std::cout << " " << fmt(p);
    std::cout << "\n(w_pos = freq_neg, w_neg = freq_pos: weighted, each class's positives and negatives contribute equally)\n";
    std::vector<double> wpos(pos.size()), wneg(pos.size());
    for (size_t k = 0; k < pos.size(); ++k) wpos[k] = neg[k] * pos[k], wneg[k] = pos[k] * neg[k];
    const std::string freq_svg = report::bar_chart("Positive frequency per label (training set)", labels,
                                                   {{"positive", pos, "#1f77b4"}}, "fraction of images");
    const std::string contrib_svg = report::bar_chart("Contributions to the loss, unweighted", labels,
                                                      {{"positive", pos, "#2ca02c"}, {"negative", neg, "#d62728"}}, "share");
    const std::string weighted_svg = report::bar_chart("Contributions to the loss, weighted", labels,
                                                       {{"positive", wpos, "#2ca02c"}, {"negative", wneg, "#d62728"}}, "share");
    write_file_atomic((out / "class_frequencies.svg").string(), freq_svg);
    write_file_atomic((out / "contributions.svg").string(), contrib_svg);
    write_file_atomic((out / "contributions_weighted.svg").string(), weighted_svg);

    // ---- 3.2 DenseNet121 ----------------------------------------------------------------------
    step("3.2 DenseNet121");
    std::cout << session.info.architecture << " -> global average pooling -> dense layer with " << labels.size()
              << " sigmoid outputs; "
              << session.model->num_parameters() << " parameters\n";
    for (const auto& note : session.notes) std::cout << "NOTE: " << note << "\n";

    // ---- 4 Training ---------------------------------------------------------------------------
    step("4. Training");
    std::cout << args.epochs << " epochs, batch " << args.batch_size << ", Adam lr " << args.lr << ", weighted loss; "
              << "callbacks: best model by val_loss from epoch " << args.min_epochs << " on, learning rate /10 on a plateau, "
              << "early stopping (patience 3) restoring the best weights; on " << device << "\n";
    const TrainResult trained = run_session(session, so, {.epochs = args.epochs, .adam = {.lr = args.lr}, .out_dir = args.out,
                                                          .min_epochs = args.min_epochs, .resume = args.resume,
                                                          .device = device});
    if (!trained.stop_reason.empty()) std::cout << "training stopped: " << trained.stop_reason << "\n";
    RG_CHECK(!trained.history.empty(), "training produced no epoch: ", trained.stop_reason);
    std::cout << "best epoch: " << trained.best_epoch << " (weights restored); logs in " << (out / "log.csv").string() << " and "
              << (out / "tensorboard").string() << "\n";

    // ---- 5 Prediction and evaluation ----------------------------------------------------------
    step("5.1 Prediction on the test set: ROC curves and AUROC");
    DataLoader test_loader(test, so.image_dir, {.batch_size = args.batch_size, .width = args.image_size, .height = args.image_size,
                                                .shuffle = false, .threads = args.threads,
                                                .normalization = session.eval_normalization});
    const auto probs = predict_all(*session.model, test_loader, true);
    if (args.notebook_normalization) {
      // The other way: test images normalized per image, as in training.
      DataLoader per_image(test, so.image_dir, {.batch_size = args.batch_size, .width = args.image_size,
                                                .height = args.image_size, .shuffle = false, .threads = args.threads});
      const auto other = predict_all(*session.model, per_image);
      std::vector<std::vector<float>> ty(labels.size()), tp(labels.size()), op(labels.size());
      for (size_t i = 0; i < test.size(); ++i)
        for (size_t k = 0; k < labels.size(); ++k)
          ty[k].push_back(test.images[i].labels[k]), tp[k].push_back(probs[i][k]), op[k].push_back(other[i][k]);
      const auto notebook = metrics::evaluate(labels, ty, tp).mean_auc, sample = metrics::evaluate(labels, ty, op).mean_auc;
      std::cout << "test mean AUROC with the dataset mean/std (the notebook's way): " << (notebook ? fmt(*notebook) : "undefined")
                << "\ntest mean AUROC with per-image normalization (as in training):  " << (sample ? fmt(*sample) : "undefined")
                << "\n";
    }
    std::vector<std::vector<float>> y(labels.size()), p(labels.size());
    std::vector<std::string> pred_header{"Image"};
    pred_header.insert(pred_header.end(), labels.begin(), labels.end());
    std::string preds_csv = csv_line(pred_header);
    for (size_t i = 0; i < test.size(); ++i) {
      std::vector<std::string> row{test.images[i].image};
      for (size_t k = 0; k < labels.size(); ++k) {
        y[k].push_back(test.images[i].labels[k]);
        p[k].push_back(probs[i][k]);
        row.push_back(fmt(probs[i][k], "%.6f"));
      }
      preds_csv += csv_line(row);
    }
    write_file_atomic((out / "preds.csv").string(), preds_csv);
    const metrics::Evaluation eval = metrics::evaluate(labels, y, p, 1000, args.seed);
    write_file_atomic((out / "metrics.json").string(), eval.to_json() + "\n");
    std::cout << eval.table();
    std::vector<report::LineSeries> roc;
    std::vector<std::vector<std::string>> auc_rows;
    for (size_t k = 0; k < labels.size(); ++k) {
      const auto& m = eval.per_label[k];
      if (auto curve = metrics::roc_curve(y[k], p[k]))
        roc.push_back({labels[k] + " (" + fmt(*m.auc) + ")", curve->fpr, curve->tpr, report::palette(k)});
      auc_rows.push_back({labels[k], std::to_string(m.positives), m.auc ? fmt(*m.auc) : "undefined",
                          m.auc_ci95 ? interval(m.auc_ci95->low, m.auc_ci95->high) : "",
                          fmt(kCheXNet.count(labels[k]) ? kCheXNet.at(labels[k]) : std::nan(""))});
    }
    const std::string roc_svg = report::line_chart("ROC curves on the test set",
                                                   {"false positive rate", "true positive rate", 0, 1, 0, 1, true}, roc);
    write_file_atomic((out / "roc_curves.svg").string(), roc_svg);
    std::vector<double> epochs, train_loss, val_loss, val_auc;
    for (const auto& e : trained.history) {
      epochs.push_back(e.epoch);
      train_loss.push_back(e.train_loss);
      val_loss.push_back(e.val_loss);
      val_auc.push_back(e.val_mean_auc.value_or(0.5));
    }
    const double max_loss = std::max(*std::max_element(train_loss.begin(), train_loss.end()),
                                     *std::max_element(val_loss.begin(), val_loss.end()));
    const std::string loss_svg = report::line_chart(
        "Loss per epoch", {"epoch", "weighted loss", 1, std::max(2.0, double(epochs.size())), 0, max_loss * 1.1},
        {{"train", epochs, train_loss, "#1f77b4"}, {"valid", epochs, val_loss, "#ff7f0e"}});
    const std::string auc_svg = report::line_chart("Validation mean AUROC per epoch",
                                                   {"epoch", "mean AUROC", 1, std::max(2.0, double(epochs.size())), 0.3, 1},
                                                   {{"valid", epochs, val_auc, "#2ca02c"}});
    write_file_atomic((out / "loss.svg").string(), loss_svg);
    write_file_atomic((out / "auroc.svg").string(), auc_svg);

    // ---- 5.2 Grad-CAM -------------------------------------------------------------------------
    step("5.2 Visualizing learning with Grad-CAM");
    std::vector<size_t> order(labels.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return eval.per_label[a].auc.value_or(0) > eval.per_label[b].auc.value_or(0);
    });
    order.resize(std::min<size_t>(4, order.size()));
    std::vector<std::pair<std::string, std::string>> cams;  // png bytes, caption
    for (size_t k : order) {
      // The test images the model finds most likely to show this finding.
      std::vector<size_t> by_prob(test.size());
      std::iota(by_prob.begin(), by_prob.end(), 0);
      std::stable_sort(by_prob.begin(), by_prob.end(), [&](size_t a, size_t b) { return probs[a][k] > probs[b][k]; });
      for (size_t j = 0; j < std::min<size_t>(2, by_prob.size()); ++j) {
        const auto& item = test.images[by_prob[j]];
        const GrayImage image = resize(decode_image((dir / "images" / item.image).string()), args.image_size, args.image_size);
        const explain::GradCam cam = explain::gradcam(*session.model, image_tensor(image, session.eval_normalization), int64_t(k));
        const std::string name = labels[k] + "_" + fs::path(item.image).stem().string() + ".png";
        explain::write_overlay_png((out / "gradcam" / name).string(), image, cam.heat, std::min(0.5, cam.probability));
        cams.push_back({read_file((out / "gradcam" / name).string()),
                        labels[k] + ": p = " + fmt(cam.probability) + (item.labels[k] > 0.5f ? " (positive)" : " (negative)")});
        std::cout << "gradcam/" << name << "  p(" << labels[k] << ") = " << fmt(cam.probability) << "\n";
      }
    }
    // The pointing game (synthetic data only: it knows where each finding was planted).
    std::string pointing;
    if (fs::exists(dir / "boxes.csv")) {
      const CsvTable boxes = read_csv((dir / "boxes.csv").string());
      std::map<std::string, size_t> test_row;
      for (size_t i = 0; i < test.size(); ++i) test_row[test.images[i].image] = i;
      const double scale = double(args.image_size) / double(decode_image((dir / "images" / test.images[0].image).string()).width);
      int hits = 0, tried = 0;
      for (const auto& row : boxes.rows) {
        auto it = test_row.find(row.fields[0]);
        const auto label = std::find(labels.begin(), labels.end(), row.fields[1]);
        if (it == test_row.end() || label == labels.end() || tried >= 40) continue;
        const size_t k = size_t(label - labels.begin());
        if (probs[it->second][k] < 0.5f) continue;  // correctly detected positives only
        const GrayImage image = resize(decode_image((dir / "images" / row.fields[0]).string()), args.image_size, args.image_size);
        const explain::GradCam cam = explain::gradcam(*session.model, image_tensor(image, session.eval_normalization), int64_t(k));
        const size_t at = size_t(std::max_element(cam.heat.pixels.begin(), cam.heat.pixels.end()) - cam.heat.pixels.begin());
        const double x = double(at % size_t(args.image_size)) / scale, yy = double(at / size_t(args.image_size)) / scale;
        const double bx = std::stod(row.fields[2]), by = std::stod(row.fields[3]), bw = std::stod(row.fields[4]), bh = std::stod(row.fields[5]);
        hits += x >= bx && x <= bx + bw && yy >= by && yy <= by + bh;
        ++tried;
      }
      pointing = tried ? "pointing game: the heat map's maximum fell inside the planted finding's box for " + std::to_string(hits) +
                             " of " + std::to_string(tried) + " correctly detected positives (" + fmt(100.0 * hits / tried, "%.0f") + "%)"
                       : "pointing game: no correctly detected positives (probability >= 0.5) among the test images";
      std::cout << pointing << "\n";
    }

    // ---- The report ---------------------------------------------------------------------------
    step("Report");
    html.paragraph(std::string("Data: ") + (synthetic ? "synthetic chest X-rays (generated)" : dir.string()) + "; train " +
                   std::to_string(session.train.size()) + ", valid " + std::to_string(session.valid.size()) + ", test " +
                   std::to_string(test.size()) + " images; " + std::to_string(args.image_size) + " px; " +
                   std::to_string(trained.history.size()) + " epochs.");
    for (const auto& note : session.notes) html.paragraph("Note: " + note);
    html.heading("Patient leakage");
    html.table({"splits", "leakage"}, leak_rows);
    html.heading("Class imbalance");
    html.raw(freq_svg);
    html.raw(contrib_svg);
    html.raw(weighted_svg);
    html.heading("A training batch");
    html.png(read_file((out / "batch.png").string()), "16 training images after augmentation and normalization", 640);
    html.heading("Training");
    html.raw(loss_svg);
    html.raw(auc_svg);
    html.heading("Test set: ROC curves and AUROC");
    html.raw(roc_svg);
    html.table({"label", "positives", "AUROC", "95% CI (bootstrap)", "CheXNet (published)"}, auc_rows);
    if (eval.mean_auc) html.paragraph("Mean AUROC " + fmt(*eval.mean_auc) + " over " + std::to_string(eval.n) + " test images.");
    html.heading("Grad-CAM");
    for (const auto& [png, caption] : cams) html.png(png, caption, 240);
    if (!pointing.empty()) html.paragraph(pointing);
    html.write((out / "report.html").string());
    std::cout << "wrote " << (out / "report.html").string() << " (open it in a browser), metrics.json, preds.csv, "
              << "best.safetensors, last.safetensors, log.csv, tensorboard/, *.svg, batch.png, gradcam/*.png\n";
    return 0;
  } catch (const std::exception& e) {  // rg::Error, and anything else (out of memory, the file system)
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
