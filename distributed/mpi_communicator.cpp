// The MPI communicator (Open MPI): CPU tensors and host buffers.
//
// Every MPI call runs on one thread of ours, the communication thread, in the order the calls
// were queued. Open MPI moves a collective forward only while some thread is inside an MPI call
// (it has no progress thread of its own), so a collective started during the backward with
// MPI_Iallreduce would wait until the backward ended; on its own thread it runs meanwhile. One
// thread making every call is also all MPI_THREAD_FUNNELED asks for: the thread that initializes
// MPI makes the calls.
#include "distributed/mpi_communicator.h"

#include <mpi.h>

#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "tensor/error.h"

namespace rg {
namespace {

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string("MPI: ") + what + " failed: " + std::string(text, size_t(length)));
}

MPI_Op mpi_op(ReduceOp op) { return op == ReduceOp::Sum ? MPI_SUM : MPI_MAX; }

// Counts are ints in MPI: larger buffers go in pieces.
template <typename Call>
void in_pieces(char* data, int64_t count, size_t element, Call call) {
  constexpr int64_t kPiece = INT_MAX / 8;
  for (int64_t done = 0; done < count; done += kPiece)
    call(data + done * int64_t(element), int(std::min(kPiece, count - done)));
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    thread_ = std::thread([this] { serve(); });
    run([this] { initialize(); });
  }
  ~MpiCommunicator() override {
    run([] { MPI_Finalize(); });
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string name() const override { return name_; }

  void allreduce(Tensor& t, ReduceOp op) override { allreduce_async(t, op)->wait(); }

  std::unique_ptr<PendingCollective> allreduce_async(Tensor& t, ReduceOp op) override {
    check_reducible(t, "allreduce");
    const MPI_Datatype type = t.dtype() == DType::Float32 ? MPI_FLOAT : MPI_DOUBLE;
    char* data = static_cast<char*>(t.data_ptr());
    const int64_t count = t.numel();
    const size_t element = dtype_size(t.dtype());
    return std::make_unique<Pending>(submit([=] {
      in_pieces(data, count, element, [&](char* p, int n) {
        check_mpi(MPI_Allreduce(MPI_IN_PLACE, p, n, type, mpi_op(op), MPI_COMM_WORLD), "MPI_Allreduce");
      });
    }));
  }

  void allreduce(double* values, int64_t n, ReduceOp op) override {
    run([=] {
      in_pieces(reinterpret_cast<char*>(values), n, sizeof(double), [&](char* p, int k) {
        check_mpi(MPI_Allreduce(MPI_IN_PLACE, p, k, MPI_DOUBLE, mpi_op(op), MPI_COMM_WORLD), "MPI_Allreduce");
      });
    });
  }

  void broadcast(Tensor& t, int root) override {
    RG_CHECK(t.device().is_cpu() && t.is_contiguous(),
             "broadcast: the MPI communicator takes contiguous CPU tensors, got ", t.device(),
             t.is_contiguous() ? "" : " (not contiguous)");
    char* data = static_cast<char*>(t.data_ptr());
    const int64_t bytes = t.numel() * int64_t(dtype_size(t.dtype()));
    run([=] {
      in_pieces(data, bytes, 1,
                [&](char* p, int n) { check_mpi(MPI_Bcast(p, n, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast"); });
    });
  }

  // The length first, then the bytes.
  void broadcast(std::string& bytes, int root) override {
    run([&] {
      int64_t length = int64_t(bytes.size());
      check_mpi(MPI_Bcast(&length, 1, MPI_INT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
      bytes.resize(size_t(length));
      in_pieces(bytes.data(), length, 1,
                [&](char* p, int n) { check_mpi(MPI_Bcast(p, n, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast"); });
    });
  }

  // Every rank's length, then every rank's bytes at once.
  std::vector<std::string> allgather(const std::string& bytes) override {
    RG_CHECK(bytes.size() <= INT_MAX, "allgather: ", bytes.size(), " bytes are more than MPI counts reach");
    std::vector<std::string> all(static_cast<size_t>(size_));
    run([&] {
      const int count = int(bytes.size());
      std::vector<int> counts(static_cast<size_t>(size_)), starts(static_cast<size_t>(size_));
      check_mpi(MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
      int64_t total = 0;
      for (int r = 0; r < size_; ++r) {
        starts[size_t(r)] = int(total);
        total += counts[size_t(r)];
      }
      RG_CHECK(total <= INT_MAX, "allgather: ", total, " bytes in all are more than MPI counts reach");
      std::string joined(size_t(total), '\0');
      check_mpi(MPI_Allgatherv(bytes.data(), count, MPI_BYTE, joined.data(), counts.data(), starts.data(), MPI_BYTE,
                               MPI_COMM_WORLD),
                "MPI_Allgatherv");
      for (int r = 0; r < size_; ++r)
        all[size_t(r)] = joined.substr(size_t(starts[size_t(r)]), size_t(counts[size_t(r)]));
    });
    return all;
  }

  void barrier() override {
    run([] { check_mpi(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); });
  }

  // From the calling thread: the communication thread may be waiting inside a collective that
  // will never end. Open MPI's MPI_Abort ends every process of the job.
  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  struct Pending final : PendingCollective {
    explicit Pending(std::future<void> f) : done(std::move(f)) {}
    void wait() override {
      if (done.valid()) done.get();  // rethrows an MPI error here
    }
    std::future<void> done;
  };

  static void check_reducible(const Tensor& t, const char* op) {
    RG_CHECK(t.device().is_cpu(), op, ": the MPI communicator reduces CPU tensors, got one on ", t.device());
    RG_CHECK(t.is_contiguous(), op, ": the tensor must be contiguous, got shape ", shape_str(t.shape()));
    RG_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Float64, op, ": float32 or float64 expected, got ",
             t.dtype());
  }

  void initialize() {
    int provided = 0;
    check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;  // the processes that share this machine's memory
    check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
              "MPI_Comm_split_type");
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string v(version, size_t(length));
    name_ = "MPI (" + v.substr(0, v.find(',')) + ")";
  }

  std::future<void> submit(std::function<void()> job) {
    std::packaged_task<void()> task(std::move(job));
    std::future<void> done = task.get_future();
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(task));
    }
    changed_.notify_all();
    return done;
  }
  void run(std::function<void()> job) { submit(std::move(job)).get(); }

  void serve() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  std::string name_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::packaged_task<void()>> queue_;
  bool stopping_ = false;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

}  // namespace rg
