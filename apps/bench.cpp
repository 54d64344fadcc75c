// roentgen bench: times DenseNet training steps (train/step.h's train_step: forward, the weighted
// loss, backward, Adam) or inference on random images, and prints one JSON line. Each phase ends
// with a device synchronize, so a GPU step is timed to its end.
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
#include "data/loader.h"
#include "distributed/world.h"
#include "layers/modules.h"
#include "layers/conv_settings.h"
#include "layers/kernels.h"
#include "losses/bce.h"
#include "models/densenet.h"
#include "optim/adam.h"
#include "tensor/allocator.h"
#include "tensor/factory.h"
#include "tensor/random.h"
#include "tensor/parallel.h"
#include "tensor/backend.h"
#include "train/data_parallel.h"
#include "train/step.h"

namespace rg::app {

namespace {

size_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return size_t(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

bool on_off(const cli::Flags& flags, const char* flag) { return cli::on_off(flags, flag, false); }

// The median over the steps of each phase's longest time over the ranks: [steps][phases] -> [phases].
std::vector<double> slowest_rank_medians(Communicator& comm, const std::vector<std::vector<double>>& steps) {
  const size_t phases = steps.front().size();
  std::vector<double> flat;
  for (const auto& step : steps) flat.insert(flat.end(), step.begin(), step.end());
  comm.allreduce(flat.data(), int64_t(flat.size()), ReduceOp::Max);
  std::vector<double> medians(phases);
  for (size_t p = 0; p < phases; ++p) {
    std::vector<double> column;
    for (size_t i = 0; i < steps.size(); ++i) column.push_back(flat[i * phases + p]);
    std::sort(column.begin(), column.end());
    medians[p] = column[column.size() / 2];
  }
  return medians;
}

// A timed step's phases: waiting for the loader's next batch (with --images), then train_step's.
struct Phases {
  double loading = 0;
  StepTimes step;
};
// train_step's phases as the JSON line names them.
constexpr struct {
  const char* name;
  double StepTimes::*field;
} kStepPhases[] = {{"forward", &StepTimes::forward},
                   {"waiting", &StepTimes::waiting},
                   {"backward", &StepTimes::backward},
                   {"exposed_allreduce", &StepTimes::exposed_allreduce},
                   {"update", &StepTimes::update}};

// --mode allreduce: the sum of one DenseNet's gradients (`floats` of them) over the ranks, as
// nccl-tests reports it: algorithm bandwidth = bytes / time, bus bandwidth = that * 2 (n - 1) / n.
nlohmann::json allreduce_bench(Communicator& comm, int64_t floats, Device device, int64_t iters, int64_t warmup) {
  Tensor buffer = full({floats}, 1.0, DType::Float32, device);
  for (int64_t i = 0; i < warmup; ++i) comm.allreduce(buffer, ReduceOp::Sum);
  std::vector<std::vector<double>> seconds;
  for (int64_t i = 0; i < iters; ++i) {
    comm.barrier();
    const auto start = std::chrono::steady_clock::now();
    comm.allreduce(buffer, ReduceOp::Sum);
    backend_for(device).synchronize();  // NCCL's collective runs on its own stream
    seconds.push_back({std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
  }
  const double t = slowest_rank_medians(comm, seconds)[0], bytes = double(floats) * 4;
  const int n = comm.size();
  return {{"mode", "allreduce"},
          {"bytes", bytes},
          {"seconds", t},
          {"algbw_gb_per_s", bytes / t / 1e9},
          {"busbw_gb_per_s", bytes / t / 1e9 * 2.0 * (n - 1) / n}};
}

}  // namespace

BenchInputs bench_inputs(int64_t batch, int64_t image_size, Device device, Generator& gen) {
  // Made on the CPU (the same values on every device), then moved.
  const Tensor images = rand({batch, 3, image_size, image_size}, -2, 2, DType::Float32, Device::cpu(), gen);
  const Tensor uniform = rand({batch, 14}, 0, 1, DType::Float32, Device::cpu(), gen);
  const Tensor labels = gt(uniform, scalar_like(uniform, 0.9));
  return {images.to(device), labels.to(device), full({14}, 0.9).to(device), full({14}, 0.1).to(device)};
}

namespace {

// The settings of a train or infer run, from the flags.
struct StepBench {
  std::string mode;  // train or infer
  Device device;
  int64_t batch, local_batch, size, iters, warmup;
  bool memory_efficient, sync_batch_norm;
};

// With --images and --labels, every step trains on the loader's next batch (the time waiting for
// it and copying it to the device is the "loading" phase) instead of the same random images.
class Feed {
 public:
  Feed(cli::Flags& flags, const StepBench& b, const Communicator& comm)
      : loader_(data::read_labels(flags["--labels"]), flags["--images"],
                data::LoaderOptions{.batch_size = int(b.batch),
                                    .width = int(b.size),
                                    .height = int(b.size),
                                    .threads = rg::num_threads(),
                                    .augment = true,
                                    .rank = comm.rank(),
                                    .ranks = comm.size()}),
        local_batch_(b.local_batch),
        device_(b.device) {
    loader_.start_epoch(epoch_);
  }
  // The next batch of this rank's full slice (a short last batch is skipped), on the device.
  void next(BenchInputs& in) {
    data::Batch b;
    while (int64_t(b.indices.size()) != local_batch_)
      if (!loader_.next(b)) loader_.start_epoch(++epoch_);
    in.images = b.images.to(device_), in.labels = b.labels.to(device_);
  }
  const data::DataLoader& loader() const { return loader_; }

 private:
  data::DataLoader loader_;
  int64_t local_batch_;
  Device device_;
  int epoch_ = 0;
};

// Times b.warmup + b.iters steps; returns each timed step's seconds and phases.
std::vector<std::vector<double>> time_steps(const StepBench& b, DenseNet& model, const StepParts& parts,
                                            BenchInputs& in, Feed* feed, std::vector<double>& seconds) {
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  model.train(b.mode == "train");
  auto step = [&] {  // the next batch (loading), then train_step's phases (or the forward alone)
    Phases phases;
    auto t = Clock::now();
    if (feed) feed->next(in);
    phases.loading = since(t);
    if (b.mode == "train") {
      train_step(parts, data::Batch{.images = in.images, .labels = in.labels, .global_size = b.batch}, &phases.step);
      return phases;
    }
    t = Clock::now();
    NoGradGuard no_grad;
    (void)model.forward(in.images);
    backend_for(b.device).synchronize();
    phases.step.forward = since(t);
    return phases;
  };
  for (int64_t i = 0; i < b.warmup; ++i) step();
  allocator_for(b.device).reset_peak();
  std::vector<std::vector<double>> steps;  // [iters][loading, then kStepPhases]
  for (int64_t i = 0; i < b.iters; ++i) {
    const auto start = Clock::now();
    const Phases phases = step();
    seconds.push_back(since(start));
    steps.push_back({phases.loading});
    for (const auto& [name, field] : kStepPhases) steps.back().push_back(phases.step.*field);
  }
  return steps;
}

// --mode train or infer: the JSON line.
nlohmann::json step_bench(cli::Flags& flags, const StepBench& b, Communicator& comm) {
  std::unique_ptr<Feed> feed;
  if (flags.count("--images")) feed = std::make_unique<Feed>(flags, b, comm);
  const int64_t classes = feed ? int64_t(feed->loader().table().label_names.size()) : 14;
  const DenseNetConfig config =
      DenseNetConfig::by_name(flags.count("--model") ? flags["--model"] : "densenet121", classes);
  Generator gen(0);
  DenseNet model(config, gen);
  model.set_memory_efficient(b.memory_efficient);
  model.to(b.device);
  if (comm.size() > 1 && b.sync_batch_norm) set_sync_batch_norm(model, &comm);
  BenchInputs in = bench_inputs(b.local_batch, b.size, b.device, gen);
  if (feed) in.w_pos = full({classes}, 0.9).to(b.device), in.w_neg = full({classes}, 0.1).to(b.device);
  Adam adam(model.parameters(), AdamOptions{});
  std::unique_ptr<GradientReducer> reducer;
  if (comm.size() > 1) reducer = std::make_unique<GradientReducer>(model.parameters(), comm);
  std::vector<double> seconds;
  const auto steps =
      time_steps(b, model, StepParts{model, in.w_pos, in.w_neg, adam, comm, reducer.get()}, in, feed.get(), seconds);
  const std::vector<double> medians = slowest_rank_medians(comm, steps);
  comm.allreduce(seconds.data(), int64_t(seconds.size()), ReduceOp::Max);
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  const double flops =
      model.forward_flops(b.size) * (b.mode == "train" ? 3.0 : 1.0);  // backward: about twice the forward

  nlohmann::json line = {
      {"model", config.name},
      {"mode", b.mode},
      {"device", b.device.str()},
      {"batch_size", b.batch},
      {"image_size", b.size},
      {"iters", b.iters},
      {"warmup", b.warmup},
      {"threads", rg::num_threads()},
      {"tf32", conv_settings().tf32},
      {"conv_algo", conv_settings().cpu_algo},
      {"memory_efficient", b.memory_efficient},
      {"images_per_s", double(b.batch) / median},
      {"step_s", {{"median", median}, {"min", seconds.front()}, {"max", seconds.back()}}},
      {"gflop_per_image", flops / 1e9},
      {"tflops", flops * double(b.batch) / median / 1e12},
      {"peak_bytes", allocator_for(b.device).stats().peak_bytes},
      {"peak_rss_bytes", peak_rss_bytes()},
      {"backends", {{"tensor", backend_for(b.device).name}, {"layers", layer_kernels_for(b.device).name}}}};
  if (b.mode == "train") {  // the medians of the slowest rank
    line["phases_s"]["loading"] = medians[0];
    for (size_t p = 0; p < std::size(kStepPhases); ++p) line["phases_s"][kStepPhases[p].name] = medians[1 + p];
  }
  if (feed) line["source"] = feed->loader().images().describe();
  if (comm.size() > 1)
    line.update({{"ranks", comm.size()},
                 {"communicator", comm.name()},
                 {"local_batch", b.local_batch},
                 {"sync_batch_norm", b.sync_batch_norm},
                 {"images_per_s_per_rank", double(b.batch) / median / comm.size()}});
  return line;
}

}  // namespace

int bench_command(int argc, char** argv, const char* usage) {
  auto flags = cli::parse_flags(
      argc, argv, 2,
      {"--model", "--mode", "--batch-size", "--image-size", "--iters", "--warmup", "--threads", "--device", "--tf32",
       "--cudnn-benchmark", "--memory-efficient", "--conv-algo", "--sync-batch-norm", "--images", "--labels"},
      usage);
  RG_CHECK(flags.count("--mode"), "bench: --mode is required\n", usage);
  StepBench b;
  b.mode = flags["--mode"];
  RG_CHECK(b.mode == "train" || b.mode == "infer" || b.mode == "allreduce" || b.mode == "load",
           "bench: --mode expects train, infer, allreduce or load, got '", b.mode, "'");
  if (b.mode == "load") {
    RG_CHECK(world().size() == 1, "bench: --mode load runs as one process");
    return load_bench_command(flags, usage);
  }
  for (const char* required : {"--batch-size", "--image-size", "--iters"})
    RG_CHECK(flags.count(required), "bench: ", required, " is required\n", usage);
  RG_CHECK(flags.count("--images") == flags.count("--labels"), "bench: --images and --labels go together");
  b.device = cli::rank_device(flags, world());
  Communicator& comm = world_for(b.device);
  RG_CHECK(b.mode != "infer" || comm.size() == 1, "bench: --mode infer runs as one process");
  b.batch = cli::integer(flags, "--batch-size", 0, b.mode == "train" ? 2 : 1, 4096);
  RG_CHECK(b.batch >= comm.size(), "bench: a global batch of ", b.batch, " leaves some of ", comm.size(),
           " ranks no image");
  const auto [first, last] = data::rank_slice(0, b.batch, comm.rank(), comm.size());
  b.local_batch = last - first;  // this rank's slice of the global batch
  b.size = cli::integer(flags, "--image-size", 0, 32, 4096);
  b.iters = cli::integer(flags, "--iters", 0, 1, 1000000);
  b.warmup = cli::integer(flags, "--warmup", 2, 0, 1000000);
  b.memory_efficient = !flags.count("--memory-efficient") || on_off(flags, "--memory-efficient");
  b.sync_batch_norm = !flags.count("--sync-batch-norm") || on_off(flags, "--sync-batch-norm");
  rg::set_num_threads(cli::rank_threads(flags, comm, rg::num_threads()));
  conv_settings().tf32 = on_off(flags, "--tf32");
  conv_settings().benchmark = on_off(flags, "--cudnn-benchmark");
  if (flags.count("--conv-algo")) conv_settings().cpu_algo = parse_cpu_conv_algo(flags["--conv-algo"]);

  nlohmann::json line;
  if (b.mode == "allreduce") {
    const DenseNetConfig config =
        DenseNetConfig::by_name(flags.count("--model") ? flags["--model"] : "densenet121", 14);
    line = allreduce_bench(comm, DenseNet(config).num_parameters(), b.device, b.iters, b.warmup);
    line.update({{"model", config.name}, {"ranks", comm.size()}, {"communicator", comm.name()}});
  } else {
    line = step_bench(flags, b, comm);
  }
  line.update(machine_json());  // cpu, isa, blas_core
  if (comm.is_root()) std::cout << line.dump() << std::endl;
  return 0;
}

}  // namespace rg::app
