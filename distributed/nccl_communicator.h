// The NCCL communicator (distributed/nccl_communicator.cpp); built with CUDA, MPI and NCCL.
#pragma once

#include <memory>

#include "distributed/communicator.h"

namespace rg {

// Joins every rank of `host` (an MPI communicator, which it keeps using for host buffers) in one
// NCCL communicator on GPU `device`.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& host, int device);

}  // namespace rg
