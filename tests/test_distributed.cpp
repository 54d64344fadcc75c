// The communicator's collectives and data-parallel training, on as many ranks as mpirun started
// (CTest runs this suite alone and on 2 and 3 ranks; every case holds for any number).
#include <doctest/doctest.h>

#include <cmath>
#include <iostream>
#include <numeric>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "data_helpers.h"
#include "training_fixture.h"
#include "distributed/world.h"
#include "helpers.h"
#include "layers/batch_norm.h"
#include "layers/sync_batch_norm.h"
#include "tensor/factory.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"
#include "train/data_parallel.h"
#include "train/trainer.h"

using namespace rg;

namespace {

// 0 .. n-1 as float64, scaled, on every rank alike.
Tensor seeded(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, 0.0, 1.0, DType::Float64, Device::cpu(), gen);
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector<double>(), y = b.to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  return worst;
}

}  // namespace

TEST_CASE("collectives: rank r contributes r + 1") {
  Communicator& comm = world();
  const int n = comm.size(), r = comm.rank();
  const double total = n * (n + 1) / 2.0;
  INFO(comm.name(), ", rank ", r, " of ", n);

  Tensor t = full({5}, r + 1.0);
  comm.allreduce(t, ReduceOp::Sum);
  for (double v : t.to_vector<double>()) CHECK(v == total);
  Tensor m = full({3}, r + 1.0, DType::Float64);
  comm.allreduce(m, ReduceOp::Max);
  for (double v : m.to_vector<double>()) CHECK(v == n);

  double host[2] = {double(r + 1), 1.0};
  comm.allreduce(host, 2, ReduceOp::Sum);
  CHECK(host[0] == total);
  CHECK(host[1] == n);

  Tensor b = full({4}, r == 0 ? 7.0 : -1.0);
  comm.broadcast(b, 0);
  for (double v : b.to_vector<double>()) CHECK(v == 7.0);
  Tensor ints = full({2}, double(r + 10), DType::Int64);
  comm.broadcast(ints, n - 1);
  for (double v : ints.to_vector<double>()) CHECK(v == n - 1 + 10);

  // Uneven and empty contributions: rank r gives r values (rank 0 none), each r + 1.
  const std::vector<double> all = comm.allgatherv(std::vector<double>(size_t(r), r + 1.0));
  std::vector<double> expected;
  for (int k = 0; k < n; ++k) expected.insert(expected.end(), size_t(k), k + 1.0);
  CHECK(all == expected);
  const auto texts = comm.allgather("rank " + std::to_string(r));
  REQUIRE(texts.size() == size_t(n));
  CHECK(texts.back() == "rank " + std::to_string(n - 1));
  // Bytes as they are: a zero byte and a high one travel, and rank 0's empty text stays empty.
  const std::string bytes = r == 0 ? "" : std::string("a\0\xff", 3) + std::to_string(r);
  const auto gathered = comm.allgather(bytes);
  REQUIRE(gathered.size() == size_t(n));
  for (int k = 0; k < n; ++k)
    CHECK(gathered[size_t(k)] == (k == 0 ? "" : std::string("a\0\xff", 3) + std::to_string(k)));
  std::string text = r == n - 1 ? std::string("last\0rank", 9) : "x";
  comm.broadcast(text, n - 1);
  CHECK(text == std::string("last\0rank", 9));

  // Several started at once finish in order, each with its own sum.
  std::vector<Tensor> buckets;
  std::vector<std::unique_ptr<PendingCollective>> pending;
  for (int k = 0; k < 4; ++k) {
    buckets.push_back(full({1000 * (k + 1)}, (r + 1.0) * (k + 1)));
    pending.push_back(comm.allreduce_async(buckets.back(), ReduceOp::Sum));
  }
  for (auto& p : pending) p->wait();
  for (int k = 0; k < 4; ++k) CHECK(buckets[size_t(k)].to_vector<double>().back() == total * (k + 1));
  comm.barrier();
}

TEST_CASE("rank slices cover each batch once, in order, for any number of ranks") {
  for (int ranks : {1, 2, 3, 5})
    for (int64_t size : {0, 1, 2, 7, 16}) {
      int64_t next = 10;
      for (int r = 0; r < ranks; ++r) {
        const auto [first, last] = data::rank_slice(10, 10 + size, r, ranks);
        CHECK(first == next);
        CHECK(last - first >= size / ranks);
        CHECK(last - first <= size / ranks + 1);
        next = last;
      }
      CHECK(next == 10 + size);
    }
}

TEST_CASE("synchronized batch norm on each rank's slice equals batch norm on the global batch") {
  Communicator& comm = world();
  for (const bool relu : {false, true})
    for (const int64_t batch : {7, 2}) {  // 2: with 3 ranks one slice is empty
      INFO("relu ", relu, ", global batch ", batch);
      const Tensor x = seeded({batch, 3, 4, 5}, 1) * 2.0 + 0.5, gy = seeded({batch, 3, 4, 5}, 2);
      Tensor w = seeded({3}, 3).set_requires_grad(true), b = seeded({3}, 4).set_requires_grad(true);

      // One process, the whole batch.
      const Tensor x_all = x.detach().set_requires_grad(true);
      const BatchNormOutput all = batch_norm(x_all, w, b, Tensor(), Tensor(), true, 1e-5, relu);
      backward(all.y, gy);
      const Tensor gw_all = w.grad(), gb_all = b.grad();
      w.zero_grad();
      b.zero_grad();

      // This rank's slice, statistics over every rank.
      const auto [first, last] = data::rank_slice(0, batch, comm.rank(), comm.size());
      const Tensor x_mine = contiguous(slice(x, 0, first, last)).detach().set_requires_grad(true);
      SyncStatistics stats;
      const BatchNormOutput mine = sync_batch_norm(x_mine, w, b, 1e-5, relu, comm, stats, true);
      CHECK(stats.count == batch * 20);
      CHECK(max_abs_difference(mine.batch_mean, all.batch_mean) < 1e-12);
      CHECK(max_abs_difference(mine.batch_var, all.batch_var) < 1e-12);
      CHECK(max_abs_difference(mine.y, slice(all.y, 0, first, last)) < 1e-12);
      backward(sum(mine.y * contiguous(slice(gy, 0, first, last))));
      if (last > first) CHECK(max_abs_difference(x_mine.grad(), slice(x_all.grad(), 0, first, last)) < 1e-12);
      Tensor gw = w.grad(), gb = b.grad();
      comm.allreduce(gw, ReduceOp::Sum);  // what the gradient reducer does
      comm.allreduce(gb, ReduceOp::Sum);
      CHECK(max_abs_difference(gw, gw_all) < 1e-11);
      CHECK(max_abs_difference(gb, gb_all) < 1e-11);

      // A recomputation reuses the statistics and communicates nothing: a different x gives
      // the same mean and variance.
      const BatchNormOutput again = sync_batch_norm(x_mine * 3.0, w, b, 1e-5, relu, comm, stats, false);
      CHECK(max_abs_difference(again.batch_mean, mine.batch_mean) == 0);
    }
}

namespace {

const DenseNetConfig& kTiny = test::kTinyDenseNet;

struct Setup : test::TrainingData {
  data::LoaderOptions loader(int batch, int rank, int ranks, bool shuffle = true) const {
    return {.batch_size = batch,
            .width = 32,
            .height = 32,
            .shuffle = shuffle,
            .seed = 1,
            .threads = 1,
            .augment = shuffle,
            .rank = rank,
            .ranks = ranks};
  }
};

struct Run {
  std::shared_ptr<DenseNet> model;
  TrainResult result;
};

// train() on `comm`'s ranks (a SingleProcess: the one-process reference, unsliced loaders).
Run train_on(Communicator& comm, const Setup& s, const std::string& out, int batch, TrainOptions o) {
  Generator gen(1);
  Run run{std::make_shared<DenseNet>(kTiny, gen), {}};
  data::DataLoader train(s.train, s.data.file("images"), s.loader(batch, comm.rank(), comm.size()));
  data::DataLoader valid(s.valid, s.data.file("images"), s.loader(batch, comm.rank(), comm.size(), false));
  o.out_dir = out;
  o.progress = false;
  o.communicator = &comm;
  run.result = rg::train(*run.model, s.info, train, valid, s.weights, o);
  return run;
}

// The largest |a - b| over every tensor of two models, relative to the largest |a|.
double state_difference(const DenseNet& a, const DenseNet& b) {
  const auto x = a.state_dict(), y = b.state_dict();
  double worst = 0, scale = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].second.dtype() != DType::Float32) continue;
    worst = std::max(worst, max_abs_difference(x[i].second, y[i].second));
    for (double v : x[i].second.to_vector<double>()) scale = std::max(scale, std::abs(v));
  }
  return worst / scale;
}

// Whether every rank holds exactly rank 0's weights, buffers and Adam-visible state.
bool identical_on_every_rank(Communicator& comm, const DenseNet& model) {
  double differs = 0;
  for (const auto& [name, t] : model.state_dict()) {
    Tensor theirs = t.to(Device::cpu());
    theirs = contiguous_untracked(theirs).detach();
    Tensor copy = Tensor::empty(theirs.shape(), theirs.dtype());
    copy.copy_(theirs);
    comm.broadcast(copy, 0);
    if (copy.to_vector<double>() != theirs.to_vector<double>()) differs = 1;
  }
  comm.allreduce(&differs, 1, ReduceOp::Max);
  return differs == 0;
}

}  // namespace

TEST_CASE("N ranks with synchronized batch norm train what one process trains on the same global batches") {
  Communicator& comm = world();
  SingleProcess alone;
  Setup s;
  test::TempDir reference_out, parallel_out;
  // Batches of 5 (not divisible by 2 or 3 ranks) over the training images: the last one shorter.
  INFO(s.train.size(), " training images, ", comm.size(), " ranks");
  const TrainOptions o{.epochs = 2, .adam = {.lr = 1e-4}, .restore_best = false};
  const Run reference = train_on(alone, s, reference_out.str(), 5, o);
  const Run parallel = train_on(comm, s, parallel_out.str(), 5, o);
  REQUIRE(parallel.result.batch_losses.size() == reference.result.batch_losses.size());
  for (size_t i = 0; i < reference.result.batch_losses.size(); ++i)
    CHECK(parallel.result.batch_losses[i] == doctest::Approx(reference.result.batch_losses[i]).epsilon(1e-5));
  for (size_t e = 0; e < reference.result.history.size(); ++e) {
    CHECK(parallel.result.history[e].val_loss == doctest::Approx(reference.result.history[e].val_loss).epsilon(1e-5));
    CHECK(parallel.result.history[e].val_mean_auc.value_or(-1) ==
          doctest::Approx(reference.result.history[e].val_mean_auc.value_or(-1)).epsilon(1e-4));
  }
  const double drift = state_difference(*reference.model, *parallel.model);
  MESSAGE("largest weight or running-statistic difference, relative to the largest value: ", drift);
  CHECK(drift < 1e-4);
  CHECK(identical_on_every_rank(comm, *parallel.model));
  // Adam's moments, from the two checkpoints (rank 0 writes them), within 0.1% of each tensor's
  // largest value; 2% for the first batch norm's: the max pool after it picks one of tied values
  // (the synthetic images' flat background), and an ulp of difference can pick another one.
  if (comm.is_root()) {
    const SafeTensors a = read_safetensors(reference_out.file("last.safetensors"));
    const SafeTensors b = read_safetensors(parallel_out.file("last.safetensors"));
    for (const auto& [name, t] : a.tensors) {
      if (name.rfind("adam.", 0) != 0) continue;
      double scale = 1e-30;
      for (double v : t.to_vector<double>()) scale = std::max(scale, std::abs(v));
      const double tolerance = name.find("norm0") != std::string::npos ? 2e-2 : 1e-3;
      CHECK_MESSAGE(max_abs_difference(t, b.find(name)) / scale < tolerance, name);
    }
  }
}

TEST_CASE("the gradient reducer sums every parameter's gradient in buckets started during the backward") {
  Communicator& comm = world();
  const int n = comm.size();
  std::vector<Tensor> params;
  for (int64_t i = 0; i < 4; ++i) params.push_back(zeros({i + 2, 3}).set_requires_grad(true));
  GradientReducer reducer(params, comm, 48);  // 48 bytes: a bucket per parameter or two
  CHECK(reducer.buckets() >= 3);
  for (int step = 0; step < 2; ++step) {  // the buckets are reused
    Tensor loss = zeros({});
    for (size_t i = 0; i < params.size(); ++i)
      loss = loss + sum(params[i] * double((comm.rank() + 1) * (i + 1 + step)));
    backward(loss);
    reducer.finish(0.5);
    for (size_t i = 0; i < params.size(); ++i)
      for (double g : params[i].grad().to_vector<double>()) CHECK(g == 0.5 * n * (n + 1) / 2.0 * double(i + 1 + step));
    for (Tensor& p : params) p.zero_grad();
  }
  // With reducer.zero_grad(), the gradients are views of the buckets: the backward adds into them
  // and the sums stay there, step after step (no copies in or out).
  for (int step = 0; step < 2; ++step) {
    reducer.zero_grad();
    std::vector<const void*> places;
    for (const Tensor& p : params) places.push_back(p.grad().data_ptr());
    backward(sum(params[1] * double(comm.rank() + 1)) + sum(params[3] * 2.0));
    reducer.finish(1.0);
    for (size_t i = 0; i < params.size(); ++i) {
      CHECK(params[i].grad().data_ptr() == places[i]);
      const double expected = i == 1 ? n * (n + 1) / 2.0 : i == 3 ? 2.0 * n : 0.0;  // params 0, 2: no gradient
      for (double g : params[i].grad().to_vector<double>()) CHECK(g == expected);
    }
  }
  // A parameter used twice in one step would be sent before its second gradient: refused.
  CHECK_THROWS_WITH_AS(backward(sum(params[0]) + sum(params[0] * 2.0)), doctest::Contains("got a second gradient"),
                       Error);
}

TEST_CASE("over the ranks, each epoch's batches hold exactly one process's images, none twice") {
  Communicator& comm = world();
  Setup s;
  data::DataLoader alone(s.train, s.data.file("images"), s.loader(5, 0, 1));
  data::DataLoader mine(s.train, s.data.file("images"), s.loader(5, comm.rank(), comm.size()));
  CHECK(mine.batches_per_epoch() == alone.batches_per_epoch());
  for (int epoch = 0; epoch < 2; ++epoch) {
    alone.start_epoch(epoch);
    mine.start_epoch(epoch);
    data::Batch whole, part;
    while (alone.next(whole)) {
      REQUIRE(mine.next(part));
      std::vector<double> rows(part.indices.begin(), part.indices.end());
      const std::vector<double> all = comm.allgatherv(rows);
      CHECK(all == std::vector<double>(whole.indices.begin(), whole.indices.end()));
    }
    CHECK_FALSE(mine.next(part));
  }
}

// Whether this machine has a GPU; when not, says why (the case below then shows as skipped).
bool no_gpu_here() {
  if (cuda_is_available()) return false;
  std::cout << "[skipped] the NCCL case of distributed_tests: " << cuda_unavailable_reason() << "\n";
  return true;
}

TEST_CASE("on a GPU, the collectives run through NCCL on the device's tensors" * doctest::skip(no_gpu_here())) {
  Communicator& comm = world_for(Device::cuda(world().local_rank()));
  const int n = comm.size(), r = comm.rank();
  INFO(comm.name());
  Tensor t = full({1000}, r + 1.0, DType::Float32, Device::cuda(world().local_rank()));
  comm.allreduce(t, ReduceOp::Sum);
  for (double v : t.to_vector<double>()) CHECK(v == n * (n + 1) / 2.0);
  Tensor b = full({10}, r == 0 ? 3.0 : -1.0, DType::Float64, Device::cuda(world().local_rank()));
  comm.broadcast(b, 0);
  for (double v : b.to_vector<double>()) CHECK(v == 3.0);
}
