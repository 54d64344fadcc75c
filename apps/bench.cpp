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
#include "train/data_parallel.h"

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
    (void)buffer.to_vector<float>().size();  // waits for a GPU
    seconds.push_back({std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
  }
  const double t = slowest_rank_medians(comm, seconds)[0], bytes = double(floats) * 4;
  const int n = comm.size();
  return {{"mode", "allreduce"}, {"bytes", bytes}, {"seconds", t}, {"algbw_gb_per_s", bytes / t / 1e9},
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

int bench_command(int argc, char** argv, const char* usage) {
  auto flags = cli::parse_flags(argc, argv, 2, {"--model", "--mode", "--batch-size", "--image-size", "--iters", "--warmup",
                                           "--threads", "--device", "--tf32", "--cudnn-benchmark",
                                           "--memory-efficient", "--conv-algo", "--sync-batch-norm", "--images", "--labels"},
                                usage);
  RG_CHECK(flags.count("--mode"), "bench: --mode is required\n", usage);
  const std::string mode = flags["--mode"];
  RG_CHECK(mode == "train" || mode == "infer" || mode == "allreduce" || mode == "load",
           "bench: --mode expects train, infer, allreduce or load, got '", mode, "'");
  if (mode == "load") {
    RG_CHECK(world().size() == 1, "bench: --mode load runs as one process");
    return load_bench_command(flags, usage);
  }
  for (const char* required : {"--batch-size", "--image-size", "--iters"})
    RG_CHECK(flags.count(required), "bench: ", required, " is required\n", usage);
  RG_CHECK(flags.count("--images") == flags.count("--labels"), "bench: --images and --labels go together");
  Communicator& host = world();
  const Device device = cli::rank_device(flags, host);
  Communicator& comm = world_for(device);
  RG_CHECK(mode != "infer" || comm.size() == 1, "bench: --mode infer runs as one process");
  const int64_t batch = cli::integer(flags, "--batch-size", 0, mode == "train" ? 2 : 1, 4096);
  RG_CHECK(batch >= comm.size(), "bench: a global batch of ", batch, " leaves some of ", comm.size(), " ranks no image");
  const auto [first, last] = data::rank_slice(0, batch, comm.rank(), comm.size());
  const int64_t local_batch = last - first;  // this rank's slice of the global batch
  const int64_t size = cli::integer(flags, "--image-size", 0, 32, 4096);
  const int64_t iters = cli::integer(flags, "--iters", 0, 1, 1000000), warmup = cli::integer(flags, "--warmup", 2, 0, 1000000);
  rg::set_num_threads(cli::rank_threads(flags, comm, rg::num_threads()));
  conv_settings().tf32 = on_off(flags, "--tf32");
  conv_settings().benchmark = on_off(flags, "--cudnn-benchmark");
  if (flags.count("--conv-algo")) conv_settings().cpu_algo = parse_cpu_conv_algo(flags["--conv-algo"]);

  // With --images and --labels, every step trains on the loader's next batch (the time waiting for
  // it and copying it to the device is the "loading" phase) instead of the same random images.
  std::unique_ptr<data::DataLoader> feed;
  if (flags.count("--images"))
    feed = std::make_unique<data::DataLoader>(
        data::read_labels(flags["--labels"]), flags["--images"],
        data::LoaderOptions{.batch_size = int(batch), .width = int(size), .height = int(size), .threads = rg::num_threads(),
                            .augment = true, .rank = comm.rank(), .ranks = comm.size()});
  const int64_t classes = feed ? int64_t(feed->table().label_names.size()) : 14;
  const DenseNetConfig config =
      DenseNetConfig::by_name(flags.count("--model") ? flags["--model"] : "densenet121", classes);
  Generator gen(0);
  const bool memory_efficient = !flags.count("--memory-efficient") || on_off(flags, "--memory-efficient");
  DenseNet model(config, gen);
  if (mode == "allreduce") {
    nlohmann::json line = allreduce_bench(comm, model.num_parameters(), device, iters, warmup);
    line.update({{"model", config.name}, {"ranks", comm.size()}, {"communicator", comm.name()}});
    line.update(machine_json());
    if (comm.is_root()) std::cout << line.dump() << std::endl;
    return 0;
  }
  model.set_memory_efficient(memory_efficient);
  model.to(device);
  const bool sync_batch_norm = !flags.count("--sync-batch-norm") || on_off(flags, "--sync-batch-norm");
  if (comm.size() > 1 && sync_batch_norm) set_sync_batch_norm(model, &comm);
  BenchInputs in = bench_inputs(local_batch, size, device, gen);
  if (feed) in.w_pos = full({classes}, 0.9).to(device), in.w_neg = full({classes}, 0.1).to(device);
  int feed_epoch = -1;
  auto next_from_feed = [&] {  // the next batch of this rank's full slice (a short last batch is skipped)
    data::Batch b;
    while (int64_t(b.indices.size()) != local_batch)
      if (!feed->next(b)) feed->start_epoch(++feed_epoch);
    in.images = b.images.to(device), in.labels = b.labels.to(device);
  };
  if (feed) feed->start_epoch(++feed_epoch);
  Adam adam(model.parameters(), AdamOptions{});
  std::unique_ptr<GradientReducer> reducer;
  if (comm.size() > 1) reducer = std::make_unique<GradientReducer>(model.parameters(), comm);

  // One step, timed by phase: forward (with the loss read on the host), waiting for the slowest
  // rank (the loss's allreduce), backward (the gradient buckets' allreduces overlap it), the
  // allreduce time left after the backward (exposed), Adam.
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  auto step = [&]() -> std::vector<double> {
    auto t = Clock::now();
    if (feed) next_from_feed();
    const double loading = since(t);
    t = Clock::now();
    if (mode == "infer") {
      model.eval();
      NoGradGuard no_grad;
      (void)model.forward(in.images).to_vector<float>();
      return {loading + since(t), loading};
    }
    model.train();
    adam.zero_grad();
    const Tensor loss = weighted_loss_with_logits(model.logits(in.images), in.labels, in.w_pos, in.w_neg) *
                        (double(local_batch) / double(batch));
    double value = loss.item();  // waits for the GPU
    const double forward = since(t);
    t = Clock::now();
    comm.allreduce(&value, 1, ReduceOp::Sum);
    const double waiting = since(t);
    t = Clock::now();
    backward(loss);
    const double backward_s = since(t);
    t = Clock::now();
    const double exposed = reducer ? reducer->finish(1.0) : 0.0;
    const double reduce_s = since(t);
    t = Clock::now();
    adam.step();
    (void)adam.first_moments()[0].to_vector<float>().size();  // waits for the GPU
    return {loading + forward + waiting + backward_s + reduce_s + since(t), loading, forward, waiting, backward_s, exposed,
            since(t)};
  };
  for (int64_t i = 0; i < warmup; ++i) step();
  Allocator& allocator = allocator_for(device);
  allocator.reset_peak();
  std::vector<std::vector<double>> steps;
  std::vector<double> seconds;
  for (int64_t i = 0; i < iters; ++i) {
    const auto start = Clock::now();
    steps.push_back(step());
    seconds.push_back(since(start));
  }
  const std::vector<double> phases = slowest_rank_medians(comm, steps);
  comm.allreduce(seconds.data(), int64_t(seconds.size()), ReduceOp::Max);
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
  if (mode == "train")
    line["phases_s"] = {{"loading", phases[1]},           {"forward", phases[2]}, {"waiting", phases[3]},
                        {"backward", phases[4]}, {"exposed_allreduce", phases[5]}, {"update", phases[6]}};  // medians of the slowest rank
  if (feed) line["source"] = feed->images().describe();
  if (comm.size() > 1)
    line.update({{"ranks", comm.size()}, {"communicator", comm.name()}, {"local_batch", local_batch},
                 {"sync_batch_norm", sync_batch_norm}, {"images_per_s_per_rank", double(batch) / median / comm.size()}});
  line.update(machine_json());  // cpu, isa, blas_core
  if (comm.is_root()) std::cout << line.dump() << std::endl;
  return 0;
}

}  // namespace rg::app
