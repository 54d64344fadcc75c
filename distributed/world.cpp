#include "distributed/world.h"

#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>

#include "tensor/error.h"

#if ROENTGEN_HAVE_MPI
#include "distributed/mpi_communicator.h"
#endif
#if ROENTGEN_HAVE_NCCL
#include "distributed/nccl_communicator.h"
#endif

namespace rg {
namespace {

std::unique_ptr<Communicator>& host_slot() {
  static std::unique_ptr<Communicator> communicator;
  return communicator;
}

// The GPUs' communicator, made on first use; ended by run_job before MPI is (it is built on it).
std::unique_ptr<Communicator>& device_slot() {
  static std::unique_ptr<Communicator> communicator;
  return communicator;
}

std::unique_ptr<Communicator> make_host_communicator() {
  const int launched = launcher_world_size();
  if (launched == 0) return std::make_unique<SingleProcess>();
#if ROENTGEN_HAVE_MPI
  return make_mpi_communicator();
#else
  RG_CHECK(launched == 1, "this process is one of ", launched,
           " started by an MPI launcher, but roentgen was built "
           "without MPI: install Open MPI (libopenmpi-dev; scripts/install-deps.sh does) and build again, or run "
           "one process");
  return std::make_unique<SingleProcess>();
#endif
}

}  // namespace

int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* value = std::getenv(name)) return std::max(1, std::atoi(value));
  return 0;
}

Communicator& world() {
  static std::once_flag made;
  std::call_once(made, [] { host_slot() = make_host_communicator(); });
  return *host_slot();
}

Communicator& world_for(Device device) {
  Communicator& host = world();
  if (!device.is_cuda() || launcher_world_size() == 0) return host;
#if ROENTGEN_HAVE_NCCL
  static int nccl_device = -1;
  if (!device_slot()) {
    device_slot() = make_nccl_communicator(host, device.index);
    nccl_device = device.index;
  }
  RG_CHECK(device.index == nccl_device, "world_for: this rank's NCCL communicator is on cuda:", nccl_device,
           ", asked for ", device.str());
  return *device_slot();
#else
  RG_CHECK(host.size() == 1, "training on GPUs in ", host.size(),
           " processes needs NCCL, and roentgen was built "
           "without it (CUDA's NCCL was not found)");
  return host;
#endif
}

int run_job(const char* program, const std::function<int()>& body) {
  int code = 1;
  try {
    world();  // MPI_Init, when a launcher started this process
    code = body();
  } catch (const std::exception& e) {  // rg::Error, and anything else (out of memory, the file system)
    const bool several = host_slot() && host_slot()->size() > 1;
    std::cerr << program << ": error: " << (host_slot() ? host_slot()->prefix() : "") << e.what() << std::endl;
    if (several) host_slot()->abort(1);
    code = 1;
  }
  device_slot().reset();  // NCCL first: it was built on MPI
  host_slot().reset();    // MPI_Finalize
  return code;
}

}  // namespace rg
