// The one place that knows whether CUDA was built: everything else asks backend_for(device).
#include "tensor/backend.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/upload.h"

#if ROENTGEN_WITH_CUDA
#include "tensor/cuda/cuda_backend.h"
#endif

namespace rg {

Allocator& cpu_allocator();  // tensor/cpu/cpu_allocator.cpp

const char* op_name(UnaryOp op) {
  static const char* names[] = {"neg", "exp", "log", "sqrt", "relu", "sigmoid", "silu", "pow", "clamp"};
  return names[static_cast<int>(op)];
}
const char* op_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "eq", "gt", "ge", "lt", "le"};
  return names[static_cast<int>(op)];
}
const char* op_name(ReduceOp op) { return op == ReduceOp::Sum ? "sum" : "max"; }

#if ROENTGEN_WITH_CUDA

int cuda_device_count() {
  static const int count = cuda::device_count(nullptr);
  return count;
}

std::string cuda_description() { return cuda::describe(); }

std::string cuda_unavailable_reason() {
  std::string why;
  return cuda::device_count(&why) > 0 ? "" : why;
}

static void check_cuda_device(Device device) {
  RG_CHECK(cuda_device_count() > 0, "CUDA device ", device, " requested, but ", cuda_unavailable_reason());
  RG_CHECK(device.index >= 0 && device.index < cuda_device_count(), "CUDA device ", device,
           " requested, but there are only ", cuda_device_count(), " CUDA devices");
}

const Backend& backend_for(Device device) {
  if (device.is_cpu()) return cpu::backend();
  check_cuda_device(device);
  return cuda::backend();
}

Allocator& allocator_for(Device device) {
  if (device.is_cpu()) return cpu_allocator();
  check_cuda_device(device);
  return cuda::allocator(device.index);
}

void transfer(const Tensor& src, Tensor& dst) { cuda::transfer(src, dst); }

static std::unique_ptr<Uploader> make_cuda_uploader(Device device) {
  check_cuda_device(device);
  return cuda::make_uploader(device.index);
}

#else  // built without CUDA: the CUDA entry points do not exist

int cuda_device_count() { return 0; }

std::string cuda_description() { return "not built"; }

std::string cuda_unavailable_reason() {
  return "roentgen was built without CUDA (configure with -DROENTGEN_CUDA=ON on a machine with "
         "the CUDA toolkit and cuDNN)";
}

const Backend& backend_for(Device device) {
  RG_CHECK(device.is_cpu(), "CUDA device ", device, " requested, but ", cuda_unavailable_reason());
  return cpu::backend();
}

Allocator& allocator_for(Device device) {
  RG_CHECK(device.is_cpu(), "CUDA device ", device, " requested, but ", cuda_unavailable_reason());
  return cpu_allocator();
}

void transfer(const Tensor&, Tensor& dst) {
  RG_CHECK(false, "transfer to ", dst.device(), ": ", cuda_unavailable_reason());
}

static std::unique_ptr<Uploader> make_cuda_uploader(Device device) {
  RG_CHECK(false, "CUDA device ", device, " requested, but ", cuda_unavailable_reason());
  return nullptr;
}

#endif

bool cuda_is_available() { return cuda_device_count() > 0; }

namespace {
// On the CPU there is nothing to copy: the host tensor is the device tensor.
class HostUploader final : public Uploader {
 public:
  Upload start(const Tensor& host) override { return Upload(host, nullptr); }
};
}  // namespace

std::unique_ptr<Uploader> make_uploader(Device device) {
  if (device.is_cpu()) return std::make_unique<HostUploader>();
  return make_cuda_uploader(device);
}

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  const std::string digits = text.rfind("cuda:", 0) == 0 ? text.substr(5) : "";
  RG_CHECK(!digits.empty() && digits.size() <= 4 && digits.find_first_not_of("0123456789") == std::string::npos,
           "unknown device '", text, "' (expected cpu, cuda or cuda:N)");
  return Device::cuda(std::stoi(digits));
}

void check_device(Device device) { backend_for(device); }

}  // namespace rg
