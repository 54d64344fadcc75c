// roentgen info: what this machine gives roentgen to run on.
#pragma once

#include <nlohmann/json.hpp>

namespace rg::app {

int info_command(int argc, char** argv, const char* usage);

// The CPU, the kernels' instruction-set level and OpenBLAS's core, for benchmark records:
// {"cpu": ..., "isa": ..., "blas_core": ...}.
nlohmann::json machine_json();

}  // namespace rg::app
