// The processes of one training job and the collectives between them (data-parallel training:
// train/data_parallel.h). Every rank calls the same collectives in the same order; each call
// returns when this rank's part is done.
//
//   Communicator& comm = world();                    // distributed/world.h
//   comm.allreduce(grads, ReduceOp::Sum);             // every rank now holds the sum
//   comm.broadcast(weights, 0);                       // every rank now holds rank 0's
//
// Three implementations: SingleProcess (below: size 1, every collective a no-op), MPI (Open MPI,
// for CPU tensors and host buffers; distributed/mpi_communicator.cpp) and NCCL (CUDA tensors, on
// top of MPI for the rest; distributed/nccl_communicator.cpp). world() picks one at start-up.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/backend.h"  // ReduceOp: Sum, Max
#include "tensor/tensor.h"

namespace rg {

// A collective started by allreduce_async(); wait() returns when its result is in place.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;          // 0 .. size() - 1
  virtual int size() const = 0;          // the number of processes (ranks)
  virtual int local_rank() const = 0;    // the rank among the processes on this machine
  virtual int local_size() const = 0;    // the processes on this machine
  virtual std::string name() const = 0;  // "single process", "MPI (Open MPI v4.1.4)", ...

  // In place, over every rank's `t` (a contiguous float32/float64 tensor of the same shape on every
  // rank; CPU tensors through MPI, CUDA tensors through NCCL).
  virtual void allreduce(Tensor& t, ReduceOp op) = 0;
  // Starts the same allreduce and returns at once: the gradient buckets overlap the backward. `t`
  // must stay untouched until wait(). Collectives run in the order they were started.
  virtual std::unique_ptr<PendingCollective> allreduce_async(Tensor& t, ReduceOp op) = 0;
  // Small host buffers (loss sums, counts, flags): in place, n values.
  virtual void allreduce(double* values, int64_t n, ReduceOp op) = 0;
  // t (contiguous, same shape everywhere) becomes rank `root`'s.
  virtual void broadcast(Tensor& t, int root) = 0;
  // `bytes` (text, any length) becomes rank `root`'s.
  virtual void broadcast(std::string& bytes, int root) = 0;
  // Every rank's `bytes` (text, any length, 0 too) in rank order, on every rank.
  virtual std::vector<std::string> allgather(const std::string& bytes) = 0;
  virtual void barrier() = 0;
  // Ends every process of the job with `code` (after an error on this rank: the others would wait
  // forever in their next collective).
  [[noreturn]] virtual void abort(int code) = 0;

  bool is_root() const { return rank() == 0; }
  // "[rank r/N] " on a job of several processes, "" alone: the prefix of this rank's messages.
  std::string prefix() const;
  // Every rank's `mine` (any length, 0 too) concatenated in rank order, on every rank: allgather
  // of their bytes.
  std::vector<double> allgatherv(const std::vector<double>& mine);
};

// One process: rank 0 of 1; every collective leaves its arguments as they are.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  std::string name() const override { return "single process"; }
  void allreduce(Tensor&, ReduceOp) override {}
  std::unique_ptr<PendingCollective> allreduce_async(Tensor& t, ReduceOp op) override;
  void allreduce(double*, int64_t, ReduceOp) override {}
  void broadcast(Tensor&, int) override {}
  void broadcast(std::string&, int) override {}
  std::vector<std::string> allgather(const std::string& bytes) override { return {bytes}; }
  void barrier() override {}
  [[noreturn]] void abort(int code) override;
};

}  // namespace rg
