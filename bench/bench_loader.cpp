// Data loader throughput: 512x512 gray PNGs decoded, resized to 320x320 (area averaging),
// flipped at random and normalized per image, in batches of 16, with 1 and 2 decoding threads.
// Uses the real NIH sample (512x512 PNGs) when ../shared/data is present, else writes 64
// synthetic 512x512 images to a temporary folder first.
//
//   build/bin/bench_loader          reports images/s ("items_per_second")
#include <benchmark/benchmark.h>

#include <filesystem>
#include <iostream>

#include "data/loader.h"
#include "data/synthetic.h"

using namespace rg;
using namespace rg::data;

namespace {

struct Source {
  LabelTable table;
  std::string image_dir;
  std::string description;
};

const Source& source() {
  static const Source s = [] {
    namespace fs = std::filesystem;
    const fs::path real = fs::path(ROENTGEN_SOURCE_DIR) / ".." / "shared" / "data" / "nih-sample";
    if (fs::exists(real / "train-small.csv")) {
      LabelTable table = read_labels((real / "train-small.csv").string());
      table.images.resize(128);
      return Source{table, (real / "images").string(), "128 real NIH PNGs (512x512, 8-bit gray)"};
    }
    const fs::path dir = fs::temp_directory_path() / "roentgen-bench-loader";
    write_synthetic_dataset(dir.string(), {.patients = 32, .max_images_per_patient = 2, .size = 512, .seed = 1});
    LabelTable table = read_labels((dir / "labels.csv").string());
    return Source{table, (dir / "images").string(), std::to_string(table.size()) + " synthetic 512x512 PNGs"};
  }();
  return s;
}

void BM_LoadEpoch(benchmark::State& state) {
  const Source& s = source();
  state.SetLabel(s.description);
  DataLoader loader(s.table, s.image_dir,
                    {.batch_size = 16, .width = 320, .height = 320, .threads = int(state.range(0)), .augment = true});
  int epoch = 0;
  int64_t images = 0;
  for (auto _ : state) {
    loader.start_epoch(epoch++);
    Batch batch;
    while (loader.next(batch)) images += int64_t(batch.indices.size());
  }
  state.SetItemsProcessed(images);
}

}  // namespace

BENCHMARK(BM_LoadEpoch)->ArgName("threads")->Arg(1)->Arg(2)->MinTime(3.0)->Unit(benchmark::kMillisecond)->UseRealTime();

// main: bench/bench_main.cpp
