#include "apps/pack.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include "cli/flags.h"
#include "data/pack.h"
#include "train/progress.h"

namespace rg::app {

namespace {

int verify(const std::string& path) {
  const auto pack = data::ImagePack::open(path);
  char fingerprint[17];
  std::snprintf(fingerprint, sizeof(fingerprint), "%016llx",
                static_cast<unsigned long long>(pack->header().source_fingerprint));
  std::cerr << path << ": " << pack->size() << " images at " << pack->width() << "x" << pack->height() << ", "
            << pack->label_names().size() << " labels, fingerprint " << fingerprint << "; " << pack->source() << "\n";
  pack->verify();
  std::cout << path << ": all " << pack->size() << " records' CRCs match\n";
  return 0;
}

}  // namespace

int pack_command(int argc, char** argv, const char* usage) {
  auto flags = cli::parse_flags(argc, argv, 2,
                                {"--labels", "--images", "--image-size", "--out", "--threads", "--max-image-pixels",
                                 "--verify", "--label-format", "--uncertain", "--views", "--official-split"},
                                usage, {"--one-per-patient"});
  if (flags.count("--verify")) {
    RG_CHECK(flags.size() == 1, "pack: --verify takes the pack alone\n", usage);
    return verify(flags["--verify"]);
  }
  for (const char* required : {"--labels", "--images", "--image-size", "--out"})
    RG_CHECK(flags.count(required), "pack: ", required, " is required\n", usage);
  cli::image_limit_flag(flags);
  cli::label_flags(flags);
  cli::check_writable_file(flags["--out"]);
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  data::PackOptions options{.image_dir = flags["--images"],
                            .out = flags["--out"],
                            .size = int(cli::integer(flags, "--image-size", 0, 1, 4096)),
                            .threads = int(cli::integer(flags, "--threads", cores, 1, 1024))};
  std::vector<data::LabelTable> tables;
  for (const auto& file : cli::all_values(argc, argv, 2, "--labels")) tables.push_back(data::read_labels(file));

  std::optional<Progress> progress;
  options.progress = [&](int64_t done, int64_t total) {
    if (!progress) progress.emplace("roentgen pack", total);
    progress->update(done, done, "");
  };
  const auto start = std::chrono::steady_clock::now();
  const data::PackSummary summary = data::write_pack(tables, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (progress) progress->finish("");
  std::cout << options.out << ": " << summary.images << " images at " << options.size << "x" << options.size << ", "
            << summary.bytes << " bytes, in " << seconds << " s on " << options.threads << " threads ("
            << double(summary.images) / seconds << " images/s)\n";
  return 0;
}

}  // namespace rg::app
