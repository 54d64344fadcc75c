// example_step: one training step of DenseNet121, from PNG files to updated weights, printing what
// happens at each stage — the live values of docs/tour.md.
//
//   example_step [--data DIR] [--batch-size N] [--image-size N] [--device cpu|cuda] [--trace]
//
// --data DIR holds train-small.csv (or train.csv) and images/; by default ../shared/data/nih-sample
// when it exists, else a small synthetic dataset generated into a temporary folder. Without
// --trace only the loss and the step's time are printed.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <unordered_set>

#include "autograd/engine.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "cli/flags.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "layers/kernels.h"
#include "losses/bce.h"
#include "losses/class_frequencies.h"
#include "models/model_file.h"
#include "optim/adam.h"
#include "tensor/backend.h"
#include "tensor/io.h"
#include "tensor/parallel.h"
#include "tensor/cpu/blas_core.h"

using namespace rg;
using namespace rg::data;
namespace fs = std::filesystem;

namespace {

struct Args {
  std::string data;
  int batch_size, image_size;
  Device device;
  bool trace;
};

const char* kUsage =
    "usage: example_step [--data DIR] [--batch-size N (4)] [--image-size N (224)] [--device cpu|cuda|cuda:N (cpu)]\n"
    "                    [--trace]\n";

// Every flag checked (cli/flags.h); batch norm needs two images.
Args parse(int argc, char** argv) {
  cli::Flags f =
      cli::parse_flags(argc, argv, 1, {"--data", "--batch-size", "--image-size", "--device"}, kUsage, {"--trace"});
  return {.data = f["--data"],
          .batch_size = int(cli::integer(f, "--batch-size", 4, 2, 64)),
          .image_size = int(cli::integer(f, "--image-size", 224, 32, 1024)),
          .device = cli::device_flag(f),
          .trace = f.count("--trace") > 0};
}

// Prints one traced stage: its name, what it made, and how long it took.
class Tracer {
 public:
  explicit Tracer(bool on) : on_(on) {}
  void stage(const std::string& name) {
    if (on_) std::cout << "\n[" << ++count_ << "] " << name << "\n";
    start_ = std::chrono::steady_clock::now();
  }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  void line(const std::string& text) const {
    if (on_) std::cout << "    " << text << "\n";
  }
  void tensor(const std::string& what, const Tensor& t) const {
    line(what + ": " + shape_str(t.shape()) + " " + dtype_name(t.dtype()) + " on " + t.device().str() + ", " +
         std::to_string(t.numel() * int64_t(dtype_size(t.dtype()))) + " bytes" +
         (t.is_contiguous() ? "" : " (a strided view, batch stride " + std::to_string(t.strides()[0]) + ")"));
  }
  void time() const {
    char b[64];
    std::snprintf(b, sizeof(b), "%.1f ms", 1000 * seconds());
    line(b);
  }

 private:
  bool on_;
  int count_ = 0;
  std::chrono::steady_clock::time_point start_;
};

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.6g", v);
  return b;
}

double l2(const Tensor& t) {
  double s = 0;
  for (double v : t.to_vector<double>()) s += v * v;
  return std::sqrt(s);
}

// The nodes of the autograd graph that made `root`, by op name.
std::map<std::string, int> graph_ops(const Tensor& root) {
  std::map<std::string, int> ops;
  std::unordered_set<autograd::Node*> seen;
  std::vector<autograd::Node*> stack{root.grad_fn().get()};
  while (!stack.empty()) {
    autograd::Node* node = stack.back();
    stack.pop_back();
    if (!node || !seen.insert(node).second) continue;
    ++ops[node->name];
    for (const auto& edge : node->inputs) stack.push_back(edge.node.get());
  }
  return ops;
}

}  // namespace

int main(int argc, char** argv) {
  rg::cpu::correct_blas_core();  // first: may run the program again (tensor/cpu/blas_core.h)
  try {
    const Args args = parse(argc, argv);
    const Device device = args.device;
    rg::set_num_threads(2);
    Tracer tr(args.trace);

    // The data: the NIH sample beside the checkout, or a few synthetic images.
    fs::path dir = args.data;
    if (dir.empty()) {
      dir = fs::path(ROENTGEN_SOURCE_DIR) / ".." / "shared" / "data" / "nih-sample";
      if (!fs::exists(dir / "train-small.csv")) {
        dir = fs::temp_directory_path() / "roentgen-example-step";
        if (!fs::exists(dir / "train.csv")) write_synthetic_dataset(dir.string(), {.patients = 20, .size = 256});
      }
    }
    const std::string csv =
        fs::exists(dir / "train-small.csv") ? (dir / "train-small.csv").string() : (dir / "train.csv").string();
    LabelTable table = read_labels(csv);
    table.images.resize(std::min<size_t>(table.images.size(), size_t(args.batch_size)));
    const std::string images = (dir / "images").string();
    std::cout << "one training step of DenseNet121 on " << table.size() << " images of " << csv << ", "
              << args.image_size << " px, on " << device << "\n";

    // ---- 1-3: the first image by hand: decode, resize, normalize -------------------------------
    tr.stage("decode_image (data/image.cpp): PNG bytes -> 8-bit gray pixels");
    const std::string first = (fs::path(images) / table.images[0].image).string();
    const GrayImage raw = decode_image(first);
    tr.line(first + ": " + std::to_string(fs::file_size(first)) + " bytes -> " + std::to_string(raw.width) + "x" +
            std::to_string(raw.height) + " pixels");
    tr.time();
    tr.stage(
        "resize_rounded (data/image.cpp): area averaging down (bilinear up) to the model's input size, "
        "rounded to whole gray levels");
    const GrayImage small = resize_rounded(raw, args.image_size, args.image_size);
    tr.line(std::to_string(raw.width) + "x" + std::to_string(raw.height) + " -> " + std::to_string(small.width) + "x" +
            std::to_string(small.height));
    tr.time();
    tr.stage("image_tensor (data/normalize.cpp): per-image normalization, gray copied to 3 channels");
    double mean = 0;
    for (float p : small.pixels) mean += p / double(small.pixels.size());
    const Tensor one = image_tensor(small, Normalization::sample());
    const auto values = one.to_vector<double>();
    double m = 0, sq = 0;
    for (double v : values) m += v / double(values.size());
    for (double v : values) sq += (v - m) * (v - m) / double(values.size());
    tr.line("pixel mean " + fmt(mean) + " -> tensor mean " + fmt(m) + ", std " + fmt(std::sqrt(sq)));
    tr.tensor("the image", one);
    tr.time();

    // ---- 4: the batch, through the threaded loader ---------------------------------------------
    tr.stage("DataLoader::next (data/loader.cpp): decoding threads build the batch");
    DataLoader loader(table, images,
                      {.batch_size = args.batch_size,
                       .width = args.image_size,
                       .height = args.image_size,
                       .shuffle = false,
                       .threads = 2,
                       .normalization = Normalization::sample()});
    loader.start_epoch(0);
    Batch batch;
    RG_CHECK(loader.next(batch), "no batch from ", csv);
    tr.tensor("images", batch.images);
    tr.tensor("labels", batch.labels);
    tr.line("storage: " + std::to_string(batch.images.storage()->bytes()) + " bytes, one block from the " +
            batch.images.device().str() + " allocator");
    tr.time();

    // ---- 5: the model ----------------------------------------------------------------------------
    tr.stage("DenseNet (models/densenet.cpp): DenseNet121, random weights, moved to the device");
    Generator gen(0);
    DenseNet model(DenseNetConfig::densenet121(int64_t(table.label_names.size())), gen);
    model.to(device);
    model.train();
    tr.line(std::to_string(model.num_parameters()) + " parameters in " + std::to_string(model.parameters().size()) +
            " tensors, " + std::to_string(model.num_parameters() * 4) + " bytes");
    tr.line("layer kernels: " + std::string(layer_kernels_for(device).name) +
            ", elementwise: " + backend_for(device).name);
    tr.time();

    // ---- 6: forward ------------------------------------------------------------------------------
    tr.stage("forward (models/densenet.cpp): conv0, norm0, pool, 4 dense blocks, 3 transitions, norm5, classifier");
    allocator_for(device).reset_peak();
    const size_t before = allocator_for(device).stats().current_bytes;
    Taps taps;
    for (const auto& name : model.tap_names()) taps[name] = Tensor();
    const Tensor x = batch.images.to(device), y = batch.labels.to(device);
    const Tensor logits = model.logits(x, &taps);
    for (const auto& name : model.tap_names()) tr.tensor(name, taps[name]);
    tr.tensor("logits", logits);
    const Tensor block1 = taps["features.denseblock1"];
    tr.line(
        "features.denseblock1 is one ConcatBuffer (layers/concat_buffer.cpp): [N, 64 + 6*32, H, W]; each dense "
        "layer read a channel prefix of it and wrote its 32 new channels after them, no copies of the old ones");
    tr.line("saved for the backward: " + std::to_string(allocator_for(device).stats().current_bytes - before) +
            " bytes of activations");
    tr.time();

    // ---- 7: the loss -----------------------------------------------------------------------------
    tr.stage("weighted_loss_with_logits (losses/bce.cpp): the notebook's class-balanced loss");
    const ClassWeights w = class_weights(compute_class_freqs(read_labels(csv).label_matrix()));
    const Tensor loss = weighted_loss_with_logits(logits, y, w.positive.to(device), w.negative.to(device));
    tr.line("w_pos (frequency of negatives) " + fmt(w.positive.to_vector<double>()[0]) + ", w_neg " +
            fmt(w.negative.to_vector<double>()[0]) + " for " + table.label_names[0]);
    tr.line("loss " + fmt(loss.item()));
    const auto ops = graph_ops(loss);
    int nodes = 0;
    std::string listing;
    for (const auto& [name, count] : ops) {
      nodes += count;
      listing += (listing.empty() ? "" : ", ") + name + " x" + std::to_string(count);
    }
    tr.line("the graph autograd recorded: " + std::to_string(nodes) + " nodes: " + listing);
    tr.time();

    // ---- 8: backward -----------------------------------------------------------------------------
    tr.stage("backward (autograd/engine.cpp): the graph in reverse topological order");
    const auto step_start = std::chrono::steady_clock::now();
    backward(loss);
    const auto params = model.named_parameters();
    tr.line("d loss / d " + params.front().first + ": norm " + fmt(l2(params.front().second.grad())));
    tr.line("d loss / d " + params.back().first + ": norm " + fmt(l2(params.back().second.grad())));
    tr.line("peak of the " + device.str() + " allocator during forward and backward: " +
            std::to_string(allocator_for(device).stats().peak_bytes) + " bytes");
    tr.time();

    // ---- 9: Adam -----------------------------------------------------------------------------------
    tr.stage("Adam::step (optim/adam.cpp): one fused update per parameter");
    Adam adam(model.parameters(), AdamOptions{.lr = 1e-4});
    const Tensor before_w = params.back().second.to(Device::cpu());
    adam.step();
    tr.line(params.back().first + " moved by " + fmt(l2(params.back().second.to(Device::cpu()) - before_w)) +
            " (lr 1e-4: the first step moves each weight by about lr)");
    tr.time();
    const double step_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();

    // ---- 10: the checkpoint ----------------------------------------------------------------------
    tr.stage("save_model (models/model_file.cpp): safetensors + metadata, written atomically");
    const std::string path = (fs::temp_directory_path() / "roentgen-example-step.safetensors").string();
    save_model(path, model, ModelInfo{.labels = table.label_names, .image_size = args.image_size});
    tr.line(path + ": " + std::to_string(fs::file_size(path)) + " bytes");
    fs::remove(path);
    tr.time();

    std::printf("\nloss %.6f; backward and Adam %.2f s\n", loss.item(), step_seconds);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "example_step: error: " << e.what() << "\n";
    return 1;
  }
}
