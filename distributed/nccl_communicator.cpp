// The NCCL communicator: CUDA tensors reduce and broadcast through NCCL, on a stream of their own;
// host buffers, the barrier and the start-up go through the MPI communicator it is built on.
//
// Start-up (NCCL's "one device per process" recipe): rank 0 asks NCCL for a unique id, MPI
// broadcasts its 128 bytes, and every rank joins with ncclCommInitRank on its own GPU.
// Order: a collective waits for the work queued on the default stream so far (an event), runs on
// the NCCL stream, and wait() makes the default stream wait for it — the host never blocks, and
// the gradient buckets' reductions overlap the rest of the backward.
#include "distributed/nccl_communicator.h"

#include <nccl.h>

#include <cstdlib>
#include <cstring>

#include "tensor/cuda/cuda_check.h"

#define RG_NCCL_CHECK(call)                                                                  \
  do {                                                                                       \
    const ncclResult_t rg_status_ = (call);                                                  \
    RG_CHECK(rg_status_ == ncclSuccess, #call, " failed: ", ncclGetErrorString(rg_status_)); \
  } while (0)

namespace rg {
namespace {

ncclRedOp_t nccl_op(ReduceOp op) { return op == ReduceOp::Sum ? ncclSum : ncclMax; }

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator& host, int device) : host_(host), device_(device) {
    cuda::DeviceGuard guard(device_);
    ncclUniqueId id;
    std::memset(&id, 0, sizeof(id));
    if (host_.is_root()) RG_NCCL_CHECK(ncclGetUniqueId(&id));
    Tensor bytes = Tensor::empty({int64_t(sizeof(id))}, DType::UInt8);
    std::memcpy(bytes.data_ptr(), &id, sizeof(id));
    host_.broadcast(bytes, 0);
    std::memcpy(&id, bytes.data_ptr(), sizeof(id));
    RG_NCCL_CHECK(ncclCommInitRank(&comm_, host_.size(), id, host_.rank()));
    RG_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    int version = 0;
    ncclGetVersion(&version);
    name_ = host_.name() + " + NCCL " + std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) +
            " on cuda:" + std::to_string(device_);
  }
  ~NcclCommunicator() override {
    cudaStreamSynchronize(stream_);
    ncclCommDestroy(comm_);
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }
  int local_rank() const override { return host_.local_rank(); }
  int local_size() const override { return host_.local_size(); }
  std::string name() const override { return name_; }

  void allreduce(Tensor& t, ReduceOp op) override {
    if (t.device().is_cpu()) return host_.allreduce(t, op);
    allreduce_async(t, op)->wait();
  }

  std::unique_ptr<PendingCollective> allreduce_async(Tensor& t, ReduceOp op) override {
    if (t.device().is_cpu()) return host_.allreduce_async(t, op);
    check_on_device(t, "allreduce");
    RG_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Float64, "allreduce: float32 or float64 expected, got ",
             t.dtype());
    const ncclDataType_t type = t.dtype() == DType::Float32 ? ncclFloat32 : ncclFloat64;
    return on_nccl_stream([&] {
      RG_NCCL_CHECK(ncclAllReduce(t.data_ptr(), t.data_ptr(), size_t(t.numel()), type, nccl_op(op), comm_, stream_));
    });
  }

  void allreduce(double* values, int64_t n, ReduceOp op) override { host_.allreduce(values, n, op); }

  void broadcast(Tensor& t, int root) override {
    if (t.device().is_cpu()) return host_.broadcast(t, root);
    check_on_device(t, "broadcast");
    const size_t bytes = size_t(t.numel()) * dtype_size(t.dtype());
    on_nccl_stream([&] {
      RG_NCCL_CHECK(ncclBroadcast(t.data_ptr(), t.data_ptr(), bytes, ncclUint8, root, comm_, stream_));
    })->wait();
  }

  void broadcast(std::string& bytes, int root) override { host_.broadcast(bytes, root); }
  std::vector<std::string> allgather(const std::string& bytes) override { return host_.allgather(bytes); }
  void barrier() override { host_.barrier(); }
  [[noreturn]] void abort(int code) override {
    ncclCommAbort(comm_);
    host_.abort(code);
    std::_Exit(code);  // not reached
  }

 private:
  struct Pending final : PendingCollective {
    explicit Pending(cudaEvent_t e) : done(e) {}
    ~Pending() override {
      try {
        wait();
      } catch (...) {  // a destructor may not throw; a broken device reports itself at its next call
      }
    }
    void wait() override {
      if (!done) return;
      RG_CUDA_CHECK(cudaStreamWaitEvent(cudaStreamLegacy, done, 0));
      cudaEventDestroy(done);
      done = nullptr;
    }
    cudaEvent_t done;
  };

  void check_on_device(const Tensor& t, const char* op) const {
    RG_CHECK(t.device() == Device::cuda(device_), op, ": this NCCL communicator works on cuda:", device_,
             ", got a tensor on ", t.device());
    RG_CHECK(t.is_contiguous(), op, ": the tensor must be contiguous, got shape ", shape_str(t.shape()));
  }

  template <typename Call>
  std::unique_ptr<PendingCollective> on_nccl_stream(Call call) {
    cuda::DeviceGuard guard(device_);
    cudaEvent_t queued = nullptr, done = nullptr;
    RG_CUDA_CHECK(cudaEventCreateWithFlags(&queued, cudaEventDisableTiming));
    RG_CUDA_CHECK(cudaEventRecord(queued, cudaStreamLegacy));
    RG_CUDA_CHECK(cudaStreamWaitEvent(stream_, queued, 0));
    cudaEventDestroy(queued);
    call();
    RG_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    RG_CUDA_CHECK(cudaEventRecord(done, stream_));
    return std::make_unique<Pending>(done);
  }

  Communicator& host_;
  int device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  std::string name_;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& host, int device) {
  return std::make_unique<NcclCommunicator>(host, device);
}

}  // namespace rg
