// The job this process is part of: started alone, or by an MPI launcher (mpirun -np N ...) as one
// of N processes. The dispatch file of distributed/: the only one that knows whether MPI and NCCL
// were built.
//
//   int main(int argc, char** argv) {
//     return run_job("roentgen", [&] { ... world().rank() ... });
//   }
#pragma once

#include <functional>

#include "distributed/communicator.h"
#include "tensor/device.h"

namespace rg {

// The number of processes the launcher's environment announces (Open MPI's OMPI_COMM_WORLD_SIZE,
// PMI_SIZE of MPICH and Slurm), 0 when no launcher started this process.
int launcher_world_size();

// The job's communicator for host buffers and CPU tensors: MPI when a launcher started this
// process, else SingleProcess. Made on first use; a launch of several processes in a build without
// MPI is an error saying so (never N independent runs writing the same files).
Communicator& world();

// The communicator for tensors on `device`: NCCL for a GPU when the job has several processes,
// else world().
Communicator& world_for(Device device);

// main's body, run as this rank of the job. An exception is printed as "program: error: [rank
// r/N] ..." and, in a job of several processes, ends all of them (the others would wait forever in
// their next collective). MPI is finalized at the end.
int run_job(const char* program, const std::function<int()>& body);

}  // namespace rg
