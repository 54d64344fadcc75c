// Training that learns what PyTorch learns: k steps of roentgen's real trainer (prepare_session ->
// run_session -> train, as `roentgen train --no-augment --no-shuffle` runs them) against PyTorch's
// steps on the same images, weights and recipe (tools/make_trajectory_fixture.py).
//
// The committed fixture is a tiny DenseNet (tests/fixtures/trajectory_tiny). A DenseNet121 one,
// made from ../shared/reference/densenet121 and the NIH sample by tests/trajectory_densenet121.sh,
// runs when ROENTGEN_TRAJECTORY_DIR points at it.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <string>

#include "data_helpers.h"
#include "tensor/io.h"
#include "tensor/safetensors.h"
#include "train/session.h"

using namespace rg;

TEST_CASE("trajectory: each step's loss and the weight update equal PyTorch's") {
  const char* env = std::getenv("ROENTGEN_TRAJECTORY_DIR");
  const std::string dir = env ? env : std::string(ROENTGEN_SOURCE_DIR) + "/tests/fixtures/trajectory_tiny";
  const auto config = nlohmann::json::parse(read_file(dir + "/config.json"));
  const auto labels = config["labels"].get<std::vector<std::string>>();
  MESSAGE("trajectory fixture: " << dir << " (" << config["model"].get<std::string>() << ", PyTorch "
                                 << config["torch"].get<std::string>() << ")");

  DenseNetConfig model_config = DenseNetConfig::densenet121(int64_t(labels.size()));
  if (config["model"] == "tiny")
    model_config = {"tiny",
                    config["growth"],
                    config["blocks"].get<std::vector<int64_t>>(),
                    config["init_features"],
                    config["bn_size"],
                    0.0,
                    int64_t(labels.size())};
  auto model = std::make_shared<DenseNet>(model_config);
  const SafeTensors initial = read_safetensors(dir + "/initial.safetensors");
  model->load_state_dict(initial.tensors);

  test::TempDir out;
  SessionOptions so{.train_csv = dir + "/train.csv",
                    .valid_csv = dir + "/valid.csv",
                    .images = dir + "/images",
                    .model = model,
                    .image_size = config["image_size"],
                    .batch_size = config["batch_size"],
                    .threads = 1,
                    .augment = false,
                    .shuffle = false};
  Session session = prepare_session(so);
  REQUIRE(session.info.labels == labels);
  const TrainResult result = run_session(session, so,
                                         {.epochs = 1,
                                          .adam = {.lr = config["lr"].get<double>()},
                                          .out_dir = out.str(),
                                          .restore_best = false,
                                          .stop_after_batches = config["steps"],
                                          .progress = false});

  // Each step's loss to 1e-5, relative.
  const SafeTensors expected = read_safetensors(dir + "/expected.safetensors");
  const auto losses = expected.find("loss").to_vector<double>();
  REQUIRE(result.batch_losses.size() == losses.size());
  for (size_t k = 0; k < losses.size(); ++k) {
    INFO("step ", k + 1, ": roentgen ", result.batch_losses[k], ", PyTorch ", losses[k]);
    CHECK(std::abs(result.batch_losses[k] - losses[k]) <= 1e-5 * std::abs(losses[k]));
  }

  // The gradient of the last step (still in the parameters: training stopped right after it) and
  // the update (after minus before), each over all parameters together, to 1% relative L2.
  auto relative_l2 = [&](auto ours_of, auto theirs_of) {
    double diff = 0, norm = 0;
    for (const auto& [name, p] : model->named_parameters()) {
      const auto ours = ours_of(name, p), theirs = theirs_of(name);
      for (size_t i = 0; i < ours.size(); ++i)
        diff += (ours[i] - theirs[i]) * (ours[i] - theirs[i]), norm += theirs[i] * theirs[i];
    }
    REQUIRE(norm > 0);
    return std::sqrt(diff / norm);
  };
  const double gradient =
      relative_l2([](const std::string&, const Tensor& p) { return p.grad().to_vector<double>(); },
                  [&](const std::string& name) { return expected.find("grad." + name).to_vector<double>(); });
  auto update = [&](const std::vector<double>& after, const std::string& name) {
    auto d = initial.find(name).to_vector<double>();
    for (size_t i = 0; i < d.size(); ++i) d[i] = after[i] - d[i];
    return d;
  };
  const double step =
      relative_l2([&](const std::string& name, const Tensor& p) { return update(p.to_vector<double>(), name); },
                  [&](const std::string& name) { return update(expected.find(name).to_vector<double>(), name); });
  MESSAGE("relative L2 difference to PyTorch: last step's gradient " << gradient << ", weight update " << step);
  CHECK(gradient < 0.01);
  if (config["check_update"].get<bool>()) CHECK(step < 0.01);
  for (const auto& [name, buffer] : model->state_dict()) {
    if (name.find("running_") == std::string::npos) continue;
    const auto ours = buffer.to_vector<double>(), theirs = expected.find(name).to_vector<double>();
    double worst = 0;
    for (size_t i = 0; i < ours.size(); ++i)
      worst = std::max(worst, std::abs(ours[i] - theirs[i]) / (1 + std::abs(theirs[i])));
    INFO(name);
    CHECK(worst < 1e-4);
  }
}
