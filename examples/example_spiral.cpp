// example_spiral: a small multilayer perceptron learns to tell two interleaved spirals apart,
// using nothing but roentgen's tensors, autograd and SGD: the smallest whole training loop here
// (example_chestxray is the flagship).
//
//   ./build/bin/example_spiral [--epochs N] [--lr X] [--seed S] [--device cpu|cuda|cuda:N]
//
// It prints the falling loss and accuracy, then a map of what the trained network predicts
// over the plane, with the training points on top.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <numbers>
#include <string>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "cli/flags.h"
#include "optim/sgd.h"
#include "tensor/backend.h"
#include "tensor/factory.h"
#include "tensor/random.h"
#include "tensor/cpu/blas_core.h"

using namespace rg;

namespace {

struct Args {
  int epochs;
  double lr;
  uint64_t seed;
  Device device;
};

const char* kUsage =
    "usage: example_spiral [--epochs N (2000)] [--lr X (0.05)] [--seed S (0)] [--device cpu|cuda|cuda:N (cpu)]\n";

// Every flag checked (cli/flags.h): a typo or a GPU that cannot be used is an error, not the CPU.
Args parse(int argc, char** argv) {
  cli::Flags f = cli::parse_flags(argc, argv, 1, {"--epochs", "--lr", "--seed", "--device"}, kUsage);
  return {.epochs = int(cli::integer(f, "--epochs", 2000, 1, 10000000)),
          .lr = cli::real(f, "--lr", 0.05, 1e-12, 10),
          .seed = cli::seed(f),
          .device = cli::device_flag(f)};
}

// Two spirals of n points each, winding 1.5 turns out from the centre, half a turn apart.
// points: [2n, 2] (x, y), labels: [2n, 1] (0 or 1).
void make_spirals(int64_t n, Generator& gen, Tensor& points, Tensor& labels) {
  const auto noise = randn({2 * n, 2}, 0.0, 0.04, DType::Float64, Device::cpu(), gen).to_vector<double>();
  std::vector<double> xy, y;
  for (int64_t k = 0; k < 2; ++k)
    for (int64_t i = 0; i < n; ++i) {
      const double t = 0.05 + 0.95 * double(i) / double(n);
      const double angle = 3.0 * std::numbers::pi * t + double(k) * std::numbers::pi;
      const int64_t row = k * n + i;
      xy.push_back(t * std::cos(angle) + noise[2 * row]);
      xy.push_back(t * std::sin(angle) + noise[2 * row + 1]);
      y.push_back(double(k));
    }
  points = from_vector(xy, {2 * n, 2});
  labels = from_vector(y, {2 * n, 1});
}

struct MLP {
  // 2 -> 64 -> 64 -> 1, ReLU between layers.
  Tensor w1, b1, w2, b2, w3, b3;

  MLP(Generator& gen, Device device) {
    auto weight = [&](int64_t in, int64_t out) {  // He init: [in, out], std sqrt(2 / in)
      return transpose(kaiming_normal({out, in}, DType::Float32, Device::cpu(), gen), 0, 1)
          .to(device)
          .set_requires_grad(true);
    };
    auto bias = [&](int64_t n) { return zeros({n}, DType::Float32, device).set_requires_grad(true); };
    w1 = weight(2, 64), b1 = bias(64);
    w2 = weight(64, 64), b2 = bias(64);
    w3 = weight(64, 1), b3 = bias(1);
  }

  // x: [N, 2] -> logits [N, 1]
  Tensor forward(const Tensor& x) const {
    Tensor h = relu(matmul(x, w1) + b1);  // [N, 64]
    h = relu(matmul(h, w2) + b2);         // [N, 64]
    return matmul(h, w3) + b3;            // [N, 1]
  }

  std::vector<Tensor> parameters() const { return {w1, b1, w2, b2, w3, b3}; }
};

// Binary cross-entropy of sigmoid(logits) against labels, averaged. The probabilities are
// clamped away from 0 and 1 so the logs stay finite (the notebook adds an epsilon instead).
Tensor bce_loss(const Tensor& logits, const Tensor& labels) {
  Tensor p = clamp(sigmoid(logits), 1e-7, 1.0 - 1e-7);
  return mean(-(labels * log(p) + (1.0 - labels) * log(1.0 - p)));
}

double accuracy(const Tensor& logits, const Tensor& labels) {
  NoGradGuard no_grad;
  return mean(eq(gt(logits, scalar_like(logits, 0.0)), labels)).item();
}

// The plane from -1.2 to 1.2, one character per cell: the predicted class as ' ' or '.', and
// training points as 'o' (class 0) or 'x' (class 1).
void draw_map(const MLP& model, const Tensor& points, const Tensor& labels, Device device) {
  constexpr int kCols = 64, kRows = 28;
  constexpr double kLo = -1.2, kHi = 1.2;
  std::vector<double> grid;
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < kCols; ++c) {
      grid.push_back(kLo + (kHi - kLo) * (c + 0.5) / kCols);
      grid.push_back(kHi - (kHi - kLo) * (r + 0.5) / kRows);
    }
  std::vector<double> logits;
  {
    NoGradGuard no_grad;
    logits = model.forward(from_vector(grid, {kRows * kCols, 2}, DType::Float32, device)).to_vector<double>();
  }
  std::vector<std::string> canvas(kRows, std::string(kCols, ' '));
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < kCols; ++c) canvas[r][c] = logits[r * kCols + c] > 0 ? '.' : ' ';
  const auto xy = points.to_vector<double>();
  const auto y = labels.to_vector<double>();
  for (size_t i = 0; i < y.size(); ++i) {
    const int c = int((xy[2 * i] - kLo) / (kHi - kLo) * kCols);
    const int r = int((kHi - xy[2 * i + 1]) / (kHi - kLo) * kRows);
    if (r >= 0 && r < kRows && c >= 0 && c < kCols) canvas[r][c] = y[i] > 0.5 ? 'x' : 'o';
  }
  std::cout << "\nWhat the network predicts ('.' = class x, blank = class o), with the training points:\n";
  std::cout << '+' << std::string(kCols, '-') << "+\n";
  for (const auto& line : canvas) std::cout << '|' << line << "|\n";
  std::cout << '+' << std::string(kCols, '-') << "+\n";
}

}  // namespace

int main(int argc, char** argv) {
  rg::cpu::correct_blas_core();  // first: may run the program again (tensor/cpu/blas_core.h)
  try {
    const Args args = parse(argc, argv);
    std::cout << "roentgen example_spiral: an MLP (2-64-64-1) on two interleaved spirals\n"
              << "device " << args.device << ", seed " << args.seed << ", " << args.epochs
              << " epochs of full-batch SGD (lr " << args.lr << ", momentum 0.9)\n\n";
    Generator gen(args.seed);
    Tensor points, labels;
    make_spirals(200, gen, points, labels);
    const Tensor x = points.to(args.device), y = labels.to(args.device);
    MLP model(gen, args.device);
    SGD optimizer(model.parameters(), {.lr = args.lr, .momentum = 0.9});

    const auto start = std::chrono::steady_clock::now();
    double first_loss = 0, loss_value = 0;
    for (int epoch = 1; epoch <= args.epochs; ++epoch) {
      optimizer.zero_grad();
      Tensor logits = model.forward(x);
      Tensor loss = bce_loss(logits, y);
      loss_value = loss.item();
      RG_CHECK(std::isfinite(loss_value), "training diverged: loss is ", loss_value, " at epoch ", epoch,
               " (try a smaller --lr)");
      if (epoch == 1) first_loss = loss_value;
      backward(loss);
      optimizer.step();
      if (epoch == 1 || epoch % (args.epochs / 10 > 0 ? args.epochs / 10 : 1) == 0)
        std::printf("epoch %5d   loss %.4f   accuracy %5.1f%%\n", epoch, loss_value, 100.0 * accuracy(logits, y));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("\nloss %.4f -> %.4f in %.2f s\n", first_loss, loss_value, seconds);
    draw_map(model, points, labels, args.device);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
