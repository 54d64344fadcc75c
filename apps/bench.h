// roentgen bench: DenseNet training or inference speed and memory on random images (or on
// batches from the loader), and the loader's speed alone.
#pragma once

#include "cli/flags.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace rg::app {

int bench_command(int argc, char** argv, const char* usage);
// --mode load (apps/bench_load.cpp): the data loader alone.
int load_bench_command(const cli::Flags& flags, const char* usage);

// What one benchmark step trains on, every tensor on `device`: random images [batch, 3, size, size]
// in [-2, 2), labels [batch, 14] of 0 and 1 (about 10% positive), and the loss's class weights [14].
struct BenchInputs {
  Tensor images, labels, w_pos, w_neg;
};
BenchInputs bench_inputs(int64_t batch, int64_t image_size, Device device, Generator& gen);

}  // namespace rg::app
