// roentgen bench: times DenseNet training steps (forward, the weighted loss, backward, Adam) or
// inference on random images, and prints one JSON line. Each step ends by reading its result on
// the host, so a GPU step is timed to its end.
#include "apps/bench.h"

#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "cli/flags.h"
#include "apps/info.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "layers/conv_settings.h"
#include "layers/kernels.h"
#include "losses/bce.h"
#include "models/densenet.h"
#include "optim/adam.h"
#include "tensor/allocator.h"
#include "tensor/factory.h"
#include "tensor/random.h"
#include "tensor/parallel.h"

namespace rg::app {

namespace {

size_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return size_t(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

bool on_off(const std::map<std::string, std::string>& flags, const char* flag) {
  const auto it = flags.find(flag);
  if (it == flags.end()) return false;
  RG_CHECK(it->second == "on" || it->second == "off", flag, " expects on or off, got '", it->second, "'");
  return it->second == "on";
}

}  // namespace

BenchInputs bench_inputs(int64_t batch, int64_t image_size, Device device, Generator& gen) {
  // Made on the CPU (the same values on every device), then moved.
  const Tensor images = rand({batch, 3, image_size, image_size}, -2, 2, DType::Float32, Device::cpu(), gen);
  const Tensor uniform = rand({batch, 14}, 0, 1, DType::Float32, Device::cpu(), gen);
  const Tensor labels = gt(uniform, scalar_like(uniform, 0.9));
  return {images.to(device), labels.to(device), full({14}, 0.9).to(device), full({14}, 0.1).to(device)};
}

int bench_command(int argc, char** argv, const char* usage) {
  auto flags = cli::parse_flags(argc, argv, 2, {"--model", "--mode", "--batch-size", "--image-size", "--iters", "--warmup",
                                           "--threads", "--device", "--tf32", "--cudnn-benchmark",
                                           "--memory-efficient", "--conv-algo"}, usage);
  for (const char* required : {"--mode", "--batch-size", "--image-size", "--iters"})
    RG_CHECK(flags.count(required), "bench: ", required, " is required\n", usage);
  const std::string mode = flags["--mode"];
  RG_CHECK(mode == "train" || mode == "infer", "bench: --mode expects train or infer, got '", mode, "'");
  const Device device = cli::device_flag(flags);
  const int64_t batch = cli::integer(flags, "--batch-size", 0, mode == "train" ? 2 : 1, 4096);
  const int64_t size = cli::integer(flags, "--image-size", 0, 32, 4096);
  const int64_t iters = cli::integer(flags, "--iters", 0, 1, 1000000), warmup = cli::integer(flags, "--warmup", 2, 0, 1000000);
  rg::set_num_threads(cli::threads(flags, rg::num_threads()));
  conv_settings().tf32 = on_off(flags, "--tf32");
  conv_settings().benchmark = on_off(flags, "--cudnn-benchmark");
  if (flags.count("--conv-algo")) conv_settings().cpu_algo = parse_cpu_conv_algo(flags["--conv-algo"]);

  const DenseNetConfig config = DenseNetConfig::by_name(flags.count("--model") ? flags["--model"] : "densenet121", 14);
  Generator gen(0);
  const bool memory_efficient = !flags.count("--memory-efficient") || on_off(flags, "--memory-efficient");
  DenseNet model(config, gen);
  model.set_memory_efficient(memory_efficient);
  model.to(device);
  const BenchInputs in = bench_inputs(batch, size, device, gen);
  Adam adam(model.parameters(), AdamOptions{});

  auto step = [&] {
    if (mode == "train") {
      model.train();
      adam.zero_grad();
      const Tensor loss = weighted_loss_with_logits(model.logits(in.images), in.labels, in.w_pos, in.w_neg);
      backward(loss);
      adam.step();
      (void)loss.item();  // waits for the GPU
    } else {
      model.eval();
      NoGradGuard no_grad;
      (void)model.forward(in.images).to_vector<float>();
    }
  };
  for (int64_t i = 0; i < warmup; ++i) step();
  Allocator& allocator = allocator_for(device);
  allocator.reset_peak();
  std::vector<double> seconds;
  for (int64_t i = 0; i < iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    step();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  const double flops = model.forward_flops(size) * (mode == "train" ? 3.0 : 1.0);  // backward: about twice the forward

  nlohmann::json line = {
      {"model", config.name}, {"mode", mode}, {"device", device.str()}, {"batch_size", batch}, {"image_size", size},
      {"iters", iters}, {"warmup", warmup}, {"threads", rg::num_threads()}, {"tf32", conv_settings().tf32}, {"conv_algo", cpu_conv_algo_name(conv_settings().cpu_algo)}, {"memory_efficient", memory_efficient},
      {"images_per_s", double(batch) / median},
      {"step_s", {{"median", median}, {"min", sorted.front()}, {"max", sorted.back()}}},
      {"gflop_per_image", flops / 1e9}, {"tflops", flops * double(batch) / median / 1e12},
      {"peak_bytes", allocator.stats().peak_bytes}, {"peak_rss_bytes", peak_rss_bytes()},
      {"backends", {{"tensor", backend_for(device).name}, {"layers", layer_kernels_for(device).name}}}};
  line.update(machine_json());  // cpu, isa, blas_core
  std::cout << line.dump() << std::endl;
  return 0;
}

}  // namespace rg::app
