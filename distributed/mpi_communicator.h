// The MPI communicator (distributed/mpi_communicator.cpp); built when CMake finds MPI.
#pragma once

#include <memory>

#include "distributed/communicator.h"

namespace rg {

// Initializes MPI (on the communicator's own thread) and joins MPI_COMM_WORLD.
std::unique_ptr<Communicator> make_mpi_communicator();

}  // namespace rg
