// The main of distributed_tests: each rank of `mpirun -np N distributed_tests` runs every test
// case, in the same order, so their collectives meet; alone it runs them as one process. An
// error outside a check ends the whole job (run_job), never leaving a rank waiting.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "distributed/world.h"

int main(int argc, char** argv) {
  return rg::run_job("distributed_tests", [&] { return doctest::Context(argc, argv).run(); });
}
