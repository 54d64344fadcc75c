// The model file: save and load with metadata, strict loading, and the head re-initialization.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "data_helpers.h"
#include "helpers.h"
#include "models/model_file.h"
#include "tensor/io.h"
#include "tensor/random.h"

#include <algorithm>

using namespace rg;
using doctest::Contains;

namespace {

std::vector<std::string> names(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("class" + std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE("a saved model loads back with the same tensors and metadata") {
  test::TempDir dir;
  Generator gen(1);
  DenseNet model(DenseNetConfig::densenet121(3), gen);
  ModelInfo info{.labels = {"Effusion", "Mass", "Nodule"},
                 .image_size = 224,
                 .normalization = "dataset:120.5,60.25",
                 .bn_eps = 1.001e-5};
  save_model(dir.file("m.safetensors"), model, info);
  const LoadedModel back = load_model(dir.file("m.safetensors"));
  CHECK(back.info.labels == info.labels);
  CHECK(back.info.image_size == 224);
  CHECK(back.info.normalization == "dataset:120.5,60.25");
  CHECK(back.info.bn_eps == 1.001e-5);
  CHECK(back.model->config().bn_eps == 1.001e-5);
  CHECK(back.notes.empty());
  CHECK_FALSE(back.model->is_training());
  const NamedTensors a = model.state_dict(), b = back.model->state_dict();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    CHECK(a[i].second.to_vector<double>() == b[i].second.to_vector<double>());
  }
}

TEST_CASE("loading is strict: missing, unexpected, wrong-shape and wrong-dtype tensors are listed") {
  test::TempDir dir;
  Generator gen(2);
  DenseNet model(DenseNetConfig::densenet121(2), gen);
  const ModelInfo info{.labels = {"a", "b"}};
  NamedTensors state = model.state_dict();
  NamedTensors broken;
  for (auto& [name, t] : state) {
    if (name == "features.norm0.running_mean") continue;  // missing
    if (name == "features.conv0.weight")
      broken.emplace_back(name, zeros({64, 3, 5, 5}));  // wrong shape
    else if (name == "features.norm5.weight")
      broken.emplace_back(name, zeros({1024}, DType::Int64));  // wrong dtype
    else if (name == "features.norm5.bias")
      broken.emplace_back(name, zeros({1024}, DType::Float64));  // no silent float conversion
    else
      broken.emplace_back(name, t);
  }
  broken.emplace_back("features.extra.weight", zeros({2}));  // unexpected
  write_safetensors(dir.file("broken.safetensors"), broken, info.to_metadata());
  try {
    load_model(dir.file("broken.safetensors"));
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("5 problems") != std::string::npos);
    CHECK(m.find("missing: features.norm0.running_mean [64]") != std::string::npos);
    CHECK(m.find("wrong shape: features.conv0.weight is [64, 3, 5, 5] in the file, [64, 3, 7, 7] in the model") !=
          std::string::npos);
    CHECK(m.find("wrong dtype: features.norm5.weight is int64 in the file, float32 in the model") != std::string::npos);
    CHECK(m.find("wrong dtype: features.norm5.bias is float64 in the file, float32 in the model") != std::string::npos);
    CHECK(m.find("unexpected: features.extra.weight [2]") != std::string::npos);
  }
  // Files without our metadata, or with bad metadata.
  write_safetensors(dir.file("plain.safetensors"), state);
  CHECK_THROWS_WITH_AS(load_model(dir.file("plain.safetensors")),
                       Contains("not a roentgen model file: no 'architecture'"), Error);
  auto meta = info.to_metadata();
  meta["architecture"] = "resnet50";
  write_safetensors(dir.file("arch.safetensors"), state, meta);
  CHECK_THROWS_WITH_AS(load_model(dir.file("arch.safetensors")), Contains("unknown architecture 'resnet50'"), Error);
  // A truncated file.
  const std::string bytes = read_file(dir.file("plain.safetensors"));
  write_file_atomic(dir.file("cut.safetensors"), bytes.substr(0, bytes.size() - 100));
  CHECK_THROWS_WITH_AS(load_model(dir.file("cut.safetensors")), Contains("cut.safetensors"), Error);
}

TEST_CASE("an ImageNet backbone loads into a 14-class model only when the head may be re-initialized") {
  test::TempDir dir;
  Generator gen(3);
  DenseNet imagenet(DenseNetConfig::densenet121(1000), gen);
  save_model(dir.file("imagenet.safetensors"), imagenet,
             {.labels = names(1000), .image_size = 224, .normalization = "imagenet"});
  const std::vector<std::string> labels = names(14);
  CHECK_THROWS_WITH_AS(
      load_model(dir.file("imagenet.safetensors"), HeadPolicy::Strict, labels),
      Contains(
          "the file's classifier has 1000 outputs, 14 labels are wanted; to keep the features and start a new classifier"),
      Error);
  const LoadedModel m = load_model(dir.file("imagenet.safetensors"), HeadPolicy::Reinit, labels);
  REQUIRE(m.notes.size() == 1);
  CHECK(m.notes[0].find("classifier re-initialized: the file's classifier has 1000 outputs, 14 labels are wanted") !=
        std::string::npos);
  CHECK(m.model->classifier->weight.shape() == Shape{14, 1024});
  CHECK(m.model->named_parameters().front().second.to_vector<float>() ==
        imagenet.named_parameters().front().second.to_vector<float>());
}

TEST_CASE("a model file whose labels are the ones wanted keeps its classifier; other labels re-initialize it") {
  test::TempDir dir;
  Generator gen(4);
  DenseNet model(DenseNetConfig::densenet121(3), gen);
  save_model(dir.file("abc.safetensors"), model, {.labels = {"a", "b", "c"}, .image_size = 64});
  const auto kept = load_model(dir.file("abc.safetensors"), HeadPolicy::Reinit, {"a", "b", "c"});
  CHECK(kept.model->classifier->weight.to_vector<float>() == model.classifier->weight.to_vector<float>());
  CHECK(kept.notes == std::vector<std::string>{"classifier kept: the file's labels are the ones wanted"});
  // Same count, another order: output 0 would score "a" while "c" is wanted.
  CHECK_THROWS_WITH_AS(load_model(dir.file("abc.safetensors"), HeadPolicy::Strict, {"c", "b", "a"}),
                       Contains("the file's labels (a,b,c) are not the ones wanted (c,b,a)"), Error);
  const auto reordered = load_model(dir.file("abc.safetensors"), HeadPolicy::Reinit, {"c", "b", "a"});
  CHECK(reordered.model->classifier->weight.to_vector<float>() != model.classifier->weight.to_vector<float>());
  CHECK(reordered.notes[0].find("classifier re-initialized: the file's labels (a,b,c)") != std::string::npos);
}

TEST_CASE("densenet121-se: SE modules after each dense block, saved and loaded by the model file") {
  test::TempDir dir;
  Generator gen(2);
  DenseNet model(DenseNetConfig::by_name("densenet121-se", 3), gen);
  const NamedTensors params = model.named_parameters();
  auto has = [&](const std::string& name) {
    return std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == name; });
  };
  CHECK(has("features.se1.fc1.weight"));  // 256 channels after block 1 -> 16
  CHECK(has("features.se4.fc2.bias"));
  // DenseNet121's parameters plus the four SE modules' 2 * C * C/16 + C/16 + C, for the channels
  // after each block: C = 256, 512, 1024, 1024.
  const int64_t plain = DenseNet(DenseNetConfig::densenet121(3), gen).num_parameters();
  int64_t se = 0;
  for (int64_t c : {256, 512, 1024, 1024}) se += 2 * c * (c / 16) + c / 16 + c;
  CHECK(model.num_parameters() == plain + se);
  ModelInfo info{.architecture = "densenet121-se", .labels = {"a", "b", "c"}, .image_size = 64};
  save_model(dir.file("se.safetensors"), model, info);
  const LoadedModel back = load_model(dir.file("se.safetensors"));
  CHECK(back.info.architecture == "densenet121-se");
  CHECK(back.model->num_parameters() == model.num_parameters());
  model.eval();
  NoGradGuard no_grad;
  const Tensor x = rand({1, 3, 64, 64}, -1, 1, DType::Float32, Device::cpu(), gen);
  test::check_close(back.model->forward(x), model.forward(x), 0, 0, "the same outputs");
  // A plain densenet121 file does not load as the SE variant: the SE tensors are missing.
  save_model(dir.file("plain.safetensors"), DenseNet(DenseNetConfig::densenet121(3), gen),
             ModelInfo{.labels = {"a", "b", "c"}});
  DenseNet se_model(DenseNetConfig::densenet121_se(3), gen);
  CHECK_THROWS_WITH_AS(se_model.load_state_dict(read_safetensors(dir.file("plain.safetensors")).tensors),
                       Contains("features.se1.fc1.weight"), Error);
}

TEST_CASE("model metadata is parsed strictly: each bad value is an error naming the file and the key") {
  test::TempDir dir;
  Generator gen(3);
  DenseNet model(DenseNetConfig::densenet121(2), gen);
  const ModelInfo good{.labels = {"a", "b"}, .image_size = 224};
  struct Case {
    const char* key;
    const char* value;
    const char* message;
  };
  const Case cases[] = {{"image_size", "64abc", "expected a whole number of pixels from 1 to 4096"},
                        {"image_size", "4294967360", "expected a whole number of pixels from 1 to 4096"},
                        {"image_size", "99999999999999999999", "expected a whole number of pixels from 1 to 4096"},
                        {"image_size", "100000", "expected a whole number of pixels from 1 to 4096"},
                        {"image_size", "-3", "expected a whole number of pixels from 1 to 4096"},
                        {"bn_eps", "1e999", "expected a finite number"},
                        {"bn_eps", "abc", "expected a finite number"},
                        {"bn_eps", "0", "expected a number between 0 and 1"},
                        {"architecture", "bogus", "unknown architecture 'bogus'"},
                        {"labels", ",", "expected comma-separated label names"}};
  for (const Case& c : cases) {
    CAPTURE(c.key);
    CAPTURE(c.value);
    auto metadata = good.to_metadata();
    metadata[c.key] = c.value;
    const std::string path = dir.file("bad.safetensors");
    write_safetensors(path, model.state_dict(), metadata);
    CHECK_THROWS_WITH_AS(load_model(path),
                         Contains((path + ": metadata " + c.key + " '" + c.value + "': " + c.message).c_str()), Error);
  }
}

TEST_CASE("operating points: saved with the model, read back exactly; malformed ones are errors naming the file") {
  test::TempDir dir;
  Generator gen(3);
  DenseNet model(DenseNetConfig::densenet121(2), gen);
  ModelInfo info{.labels = {"a", "b"}, .image_size = 224};
  info.operating_points.rule = "sensitivity=0.9";
  info.operating_points.set = "valid.csv";
  info.operating_points.labels["b"] = {0.123456789f, 12, 88, 0.9166666666666666, 0.5};
  const std::string path = dir.file("m.safetensors");
  save_model(path, model, info);
  const OperatingPoints back = load_model(path).info.operating_points;
  CHECK(back.rule == "sensitivity=0.9");
  CHECK(back.set == "valid.csv");
  REQUIRE(back.labels.count("b"));
  CHECK(back.labels.at("b").threshold == double(0.123456789f));  // the float threshold, bit for bit
  CHECK(back.labels.at("b").positives == 12);
  CHECK(back.thresholds({"a", "b"}) == std::vector<std::optional<double>>{std::nullopt, double(0.123456789f)});
  CHECK(ModelInfo{.labels = {"a"}}.operating_points.empty());  // none unless chosen
  for (const auto& [json, message] : std::vector<std::pair<std::string, std::string>>{
           {"{\"rule\": \"youden\"}", "expected {\"rule\", \"set\", \"labels\""},
           {"not json", "expected {\"rule\", \"set\", \"labels\""},
           {R"({"rule": "youden", "set": "v.csv", "labels": {"a": {"threshold": 1.5, "positives": 1,
               "negatives": 1, "sensitivity": 1, "specificity": 1}}})",
            "label a: threshold 1.5 is not a probability"},
           {R"({"rule": "youden", "set": "v.csv", "labels": {"z": {"threshold": 0.5, "positives": 1,
               "negatives": 1, "sensitivity": 1, "specificity": 1}}})",
            "label z is not one of the model's outputs"}}) {
    auto metadata = info.to_metadata();
    metadata["operating_points"] = json;
    write_safetensors(path, model.state_dict(), metadata);
    CHECK_THROWS_WITH_AS(load_model(path), Contains((path + ": metadata operating_points").c_str()), Error);
    CHECK_THROWS_WITH_AS(load_model(path), Contains(message.c_str()), Error);
  }
}
