// example_data: the notebook's sections 2 and 3.1 — load the labels, check for patient leakage,
// look at the class imbalance and the weights that balance it, and see what the loader feeds a
// model. Runs on the real NIH sample, on a folder of your own, or on synthetic data it writes.
//
//   example_data                               synthetic data, written to ./synthetic-chestxray
//   example_data --data DIR                    DIR/{train,valid,test}.csv + DIR/images/
//   example_data --data ../shared/data/nih-sample --train train-small.csv --valid valid-small.csv
//
// Writes batch.png: the first training batch as the model sees it (augmented, normalized).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "autograd/ops.h"
#include "data/image.h"
#include "data/leakage.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "losses/class_frequencies.h"
#include "report/sheet.h"

using namespace rg;
using namespace rg::data;
namespace fs = std::filesystem;

namespace {

struct Args {
  std::string data, train = "train.csv", valid = "valid.csv", test = "test.csv", out = "synthetic-chestxray";
  int size = 320;
  uint64_t seed = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error("missing value after " + flag);
      return argv[++i];
    };
    if (flag == "--data")
      a.data = value();
    else if (flag == "--train")
      a.train = value();
    else if (flag == "--valid")
      a.valid = value();
    else if (flag == "--test")
      a.test = value();
    else if (flag == "--out")
      a.out = value();
    else if (flag == "--size")
      a.size = std::stoi(value());
    else if (flag == "--seed")
      a.seed = std::stoull(value());
    else
      throw Error(
          "unknown argument " + flag +
          " (usage: example_data [--data DIR] [--train F] [--valid F] [--test F] [--out DIR] [--size N] [--seed S])");
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args args = parse(argc, argv);
    if (args.data.empty()) {
      std::cout << "No --data given: writing a synthetic chest X-ray dataset to " << args.out << "/ ...\n";
      const auto summary = write_synthetic_dataset(args.out, {.patients = 300, .size = 512, .seed = args.seed});
      std::cout << "  " << summary.images << " images of " << summary.patients << " patients\n";
      args.data = args.out;
    }
    const fs::path dir(args.data);
    const LabelTable train = read_labels((dir / args.train).string());
    const LabelTable valid = read_labels((dir / args.valid).string());
    const LabelTable test = read_labels((dir / args.test).string());
    std::cout << "\n== 2.1 The data ==\n"
              << "train " << train.size() << ", valid " << valid.size() << ", test " << test.size() << " images; "
              << train.label_names.size() << " labels\n";

    std::cout << "\n== 2.2 Patient leakage ==\n";
    const std::pair<const char*, std::pair<const LabelTable*, const LabelTable*>> pairs[] = {
        {"train and valid", {&train, &valid}},
        {"train and test", {&train, &test}},
        {"valid and test", {&valid, &test}}};
    for (const auto& [name, tables] : pairs) {
      const LeakageReport r = find_leakage(*tables.first, *tables.second);
      std::cout << "leakage between " << name << ": " << (r.leaked() ? "True" : "False");
      if (r.leaked()) std::cout << " (" << r.shared_patients.size() << " patients)";
      std::cout << "\n";
    }

    std::cout << "\n== 3.1 Class imbalance ==\n";
    const ClassFrequencies freq = compute_class_freqs(train.label_matrix());
    const ClassWeights weights = class_weights(freq);
    const auto pos = freq.positive.to_vector<double>(), wpos = weights.positive.to_vector<double>(),
               wneg = weights.negative.to_vector<double>();
    std::printf("%-20s %8s  %-30s %s\n", "label", "freq_pos", "positive share", "weighted pos / neg");
    for (size_t k = 0; k < pos.size(); ++k) {
      const std::string bar(size_t(std::lround(pos[k] * 60)), '#');
      std::printf("%-20s %8.3f  %-30s %.3f / %.3f\n", train.label_names[k].c_str(), pos[k], bar.c_str(),
                  wpos[k] * pos[k], wneg[k] * (1 - pos[k]));
    }

    std::cout << "\n== 2.3 Preparing images ==\n";
    const auto images = open_image_source((dir / "images").string());
    const Normalization stats = measure_dataset_normalization(train, *images, args.size, args.size, 100, args.seed);
    std::cout << "valid/test normalization: " << stats.describe() << "\n";
    DataLoader loader(train, images,
                      {.batch_size = 16, .width = args.size, .height = args.size, .seed = args.seed, .augment = true});
    loader.start_epoch(0);
    Batch batch;
    loader.next(batch);
    std::cout << "first training batch: images " << shape_str(batch.images.shape()) << ", labels "
              << shape_str(batch.labels.shape()) << "; " << loader.batches_per_epoch() << " batches per epoch\n";
    const auto px = batch.images.to_vector<double>();
    double mean = 0, sq = 0;
    for (double v : px) mean += v;
    mean /= double(px.size());
    for (double v : px) sq += (v - mean) * (v - mean);
    std::printf("pixel mean %.4f, std %.4f (each image normalized on its own)\n", mean,
                std::sqrt(sq / double(px.size())));
    write_png("batch.png", report::batch_sheet(batch.images));
    std::cout << "wrote batch.png (the batch's first 16 images, as the model sees them)\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
