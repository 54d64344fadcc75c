// The CUDA Backend: the table of kernels in tensor/cuda/, and moving bytes between devices.
#include "tensor/cuda/cuda_backend.h"

#include <cudnn.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/kernels.h"

namespace rg::cuda {
namespace {
void synchronize() { RG_CUDA_CHECK(cudaDeviceSynchronize()); }
}  // namespace

const Backend& backend() {
  static const Backend table{.name = "cuda",
                             .fill = fill,
                             .copy = copy,
                             .unary = unary,
                             .binary = binary,
                             .where = where,
                             .reduce = reduce,
                             .matmul = matmul,
                             .update = update,
                             .synchronize = synchronize};
  return table;
}

void transfer(const Tensor& src, Tensor& dst) {
  RG_CHECK(src.is_contiguous() && dst.is_contiguous() && src.dtype() == dst.dtype() && src.numel() == dst.numel(),
           "transfer: expected two contiguous tensors of one dtype and size, got ", src.dtype(), shape_str(src.shape()),
           " and ", dst.dtype(), shape_str(dst.shape()));
  const size_t bytes = src.numel() * dtype_size(src.dtype());
  if (bytes == 0) return;
  // With unified addressing the runtime knows from the pointers which way the bytes go.
  RG_CUDA_CHECK(cudaMemcpy(dst.data_ptr(), src.data_ptr(), bytes, cudaMemcpyDefault));
}

void check_launch(const char* kernel) {
  static const bool sync = [] {
    const char* v = std::getenv("ROENTGEN_CUDA_SYNC");
    return v && std::strcmp(v, "0") != 0 && *v;
  }();
  cudaError_t status = cudaGetLastError();
  RG_CHECK(status == cudaSuccess, "CUDA kernel ", kernel, " failed to launch: ", cudaGetErrorString(status));
  if (!sync) return;
  status = cudaDeviceSynchronize();
  RG_CHECK(status == cudaSuccess, "CUDA kernel ", kernel, " failed: ", cudaGetErrorString(status),
           " (ROENTGEN_CUDA_SYNC=1: reported at the kernel that caused it)");
}

int device_count(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear it: no GPU is a normal state, not a sticky error
    if (why) *why = std::string("no usable CUDA device: ") + cudaGetErrorString(status);
    return 0;
  }
  if (count == 0 && why) *why = "no CUDA device found";
  return count;
}

// "13.0" from 13000.
static std::string version(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

std::string describe() {
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  const size_t cudnn = cudnnGetVersion();
  std::ostringstream out;
  out << "runtime " << version(runtime) << ", driver " << (driver ? version(driver) : "none") << ", cuDNN "
      << cudnn / 10000 << "." << cudnn % 10000 / 100 << "." << cudnn % 100;
  std::string why;
  const int count = device_count(&why);
  if (count == 0) return out.str() + "; " + why;
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, d) != cudaSuccess) continue;
    out << "; cuda:" << d << " " << p.name << " (" << (p.totalGlobalMem >> 20) << " MiB, sm_" << p.major << p.minor
        << ")";
  }
  return out.str();
}

}  // namespace rg::cuda
