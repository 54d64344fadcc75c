// roentgen bench: DenseNet training or inference speed and memory on random images.
#pragma once

namespace rg::app {

int bench_command(int argc, char** argv, const char* usage);

}  // namespace rg::app
