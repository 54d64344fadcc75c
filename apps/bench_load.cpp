// roentgen bench --mode load: the data loader alone, from a folder of images or a pack, as one
// JSON line: images/s, and MB/s of the stored bytes read (files or records) and of the batches
// made. The first epoch warms the page cache (and checks a pack's CRCs); the next are timed.
#include <chrono>
#include <iostream>

#include "apps/bench.h"
#include "apps/info.h"
#include "data/loader.h"

namespace rg::app {

int load_bench_command(const cli::Flags& flags, const char* usage) {
  for (const char* required : {"--images", "--labels", "--image-size", "--batch-size"})
    RG_CHECK(flags.count(required), "bench --mode load: ", required, " is required\n", usage);
  const int size = int(cli::integer(flags, "--image-size", 0, 1, 4096));
  const int threads = cli::threads(flags, 2);
  const int64_t epochs = cli::integer(flags, "--iters", 1, 1, 1000000),
                warmup = cli::integer(flags, "--warmup", 1, 0, 1000000);
  const data::LabelTable table = data::read_labels(flags.at("--labels"));
  const auto images = data::open_image_source(flags.at("--images"));
  data::DataLoader loader(table, images,
                          {.batch_size = int(cli::integer(flags, "--batch-size", 0, 1, 4096)),
                           .width = size,
                           .height = size,
                           .threads = threads,
                           .augment = true});
  uint64_t stored = 0;
  for (const auto& item : table.images) stored += images->stored_bytes(item.image);

  auto run_epochs = [&](int64_t first, int64_t count) {
    int64_t n = 0;
    for (int64_t e = first; e < first + count; ++e) {
      loader.start_epoch(int(e));
      data::Batch batch;
      while (loader.next(batch)) n += batch.images.size(0);
    }
    return n;
  };
  run_epochs(0, warmup);
  const auto start = std::chrono::steady_clock::now();
  const int64_t loaded = run_epochs(warmup, epochs);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double per_s = double(loaded) / seconds, batch_bytes = 3.0 * size * size * sizeof(float);
  nlohmann::json line = {{"mode", "load"},
                         {"source", images->describe()},
                         {"labels", flags.at("--labels")},
                         {"images", table.size()},
                         {"image_size", size},
                         {"batch_size", loader.options().batch_size},
                         {"threads", threads},
                         {"epochs", epochs},
                         {"seconds", seconds},
                         {"images_per_s", per_s},
                         {"images_per_s_per_thread", per_s / std::max(1, threads)},
                         {"stored_mb_per_s", double(stored) / double(table.size()) * per_s / 1e6},
                         {"batch_mb_per_s", batch_bytes * per_s / 1e6}};
  line.update(machine_json());
  std::cout << line.dump() << std::endl;
  return 0;
}

}  // namespace rg::app
