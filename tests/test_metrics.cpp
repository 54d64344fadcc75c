// ROC curves, AUROC (with ties), average precision, bootstrap intervals, thresholds, and the
// evaluation of a prediction file — against scikit-learn's documented results and a real
// DenseNet121's predictions when ../shared/data is present.
#include <doctest/doctest.h>

#include <algorithm>

#include <chrono>
#include <cmath>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "data/csv.h"
#include "data/labels.h"
#include "data_helpers.h"
#include "metrics/evaluate.h"
#include "metrics/calibration.h"
#include "metrics/decisions.h"
#include "metrics/roc.h"
#include "tensor/error.h"
#include "tensor/io.h"
#include "tensor/random.h"
#include "tensor/parallel.h"

using namespace rg;
using namespace rg::metrics;

TEST_CASE("roc_curve and AUROC: scikit-learn's documented example") {
  const std::vector<float> y{0, 0, 1, 1}, s{0.1f, 0.4f, 0.35f, 0.8f};
  const auto curve = roc_curve(y, s);
  REQUIRE(curve);
  CHECK(curve->fpr == std::vector<double>{0, 0, 0.5, 0.5, 1});
  CHECK(curve->tpr == std::vector<double>{0, 0.5, 0.5, 1, 1});
  REQUIRE(curve->thresholds.size() == 5);
  CHECK(std::isinf(curve->thresholds[0]));
  CHECK(curve->thresholds[1] == doctest::Approx(0.8));
  CHECK(curve->thresholds[4] == doctest::Approx(0.1));
  CHECK(*auroc(y, s) == doctest::Approx(0.75));
  CHECK(*average_precision(y, s) == doctest::Approx(0.8333333333));
}

TEST_CASE("roc_curve and AUROC equal scikit-learn's on committed cases, ties included") {
  // tests/fixtures/roc/sklearn.json is written by tools/make_roc_fixture.py.
  const auto fixture =
      nlohmann::json::parse(read_file(std::string(ROENTGEN_SOURCE_DIR) + "/tests/fixtures/roc/sklearn.json"));
  REQUIRE(fixture["cases"].size() >= 10);
  for (const auto& c : fixture["cases"]) {
    INFO(c["name"].get<std::string>());
    const auto y = c["y"].get<std::vector<float>>(), score = c["score"].get<std::vector<float>>();
    const auto curve = roc_curve(y, score);
    REQUIRE(curve);
    const auto fpr = c["fpr"].get<std::vector<double>>(), tpr = c["tpr"].get<std::vector<double>>();
    REQUIRE(curve->fpr.size() == fpr.size());
    for (size_t i = 0; i < fpr.size(); ++i) {
      CHECK(curve->fpr[i] == doctest::Approx(fpr[i]).epsilon(1e-12));
      CHECK(curve->tpr[i] == doctest::Approx(tpr[i]).epsilon(1e-12));
      const auto& t = c["thresholds"][i];
      if (t.is_string())
        CHECK(std::isinf(curve->thresholds[i]));
      else
        CHECK(curve->thresholds[i] == t.get<double>());
    }
    CHECK(*auroc(y, score) == doctest::Approx(c["auc"].get<double>()).epsilon(1e-12));
  }
}

TEST_CASE("calibration: reliability bins, ECE and Brier score equal scikit-learn's on the same cases") {
  // tests/fixtures/roc/sklearn.json: calibration_curve(strategy="quantile", n_bins=10), brier_score_loss.
  const auto fixture =
      nlohmann::json::parse(read_file(std::string(ROENTGEN_SOURCE_DIR) + "/tests/fixtures/roc/sklearn.json"));
  for (const auto& c : fixture["cases"]) {
    INFO(c["name"].get<std::string>());
    const auto got = calibration(c["y"].get<std::vector<float>>(), c["score"].get<std::vector<float>>());
    REQUIRE(got);
    const auto& want = c["calibration"];
    REQUIRE(got->bins.size() == want["count"].size());
    for (size_t b = 0; b < got->bins.size(); ++b) {
      CHECK(got->bins[b].count == want["count"][b].get<int64_t>());
      CHECK(got->bins[b].mean_probability == doctest::Approx(want["mean_probability"][b].get<double>()).epsilon(1e-12));
      CHECK(got->bins[b].fraction_positive ==
            doctest::Approx(want["fraction_positive"][b].get<double>()).epsilon(1e-12));
    }
    CHECK(got->ece == doctest::Approx(want["ece"].get<double>()).epsilon(1e-12));
    CHECK(got->brier == doctest::Approx(want["brier"].get<double>()).epsilon(1e-12));
  }
  CHECK_FALSE(calibration({std::nanf("")}, {0.5f}).has_value());  // no known label
  const auto perfect = calibration({0, 0, 1, 1}, {0, 0, 1, 1});
  CHECK(perfect->ece == 0);
  CHECK(perfect->brier == 0);
}

TEST_CASE("ties count half, collinear points are dropped, and one-class labels are undefined") {
  CHECK(*auroc({0, 1, 0, 1}, {0.5f, 0.5f, 0.5f, 0.5f}) == doctest::Approx(0.5));
  // Positives at 0.9, 0.5; negatives at 0.5, 0.1: the tie at 0.5 counts half -> (1 + 1 + 0.5 + 1) / 4.
  CHECK(*auroc({1, 1, 0, 0}, {0.9f, 0.5f, 0.5f, 0.1f}) == doctest::Approx(0.875));
  const auto flat = roc_curve({1, 1, 1, 0, 0, 0}, {0.9f, 0.8f, 0.7f, 0.3f, 0.2f, 0.1f});
  REQUIRE(flat);
  // The perfect ranking: scikit-learn keeps the first distinct score's point (0, 1/3) and drops
  // only (0, 2/3) and the points between (0, 1) and (1, 1).
  CHECK(flat->fpr == std::vector<double>{0, 0, 0, 1});
  CHECK(flat->tpr == std::vector<double>{0, 1.0 / 3, 1, 1});
  CHECK_FALSE(auroc({0, 0, 0}, {0.1f, 0.2f, 0.3f}).has_value());
  CHECK_FALSE(auroc({1, 1}, {0.1f, 0.2f}).has_value());
  CHECK_FALSE(auroc_ci95({1, 1}, {0.1f, 0.2f}, 100, 0).has_value());
  CHECK_THROWS_WITH_AS(auroc({1, 0}, {0.5f}), doctest::Contains("2 labels but 1 scores"), Error);
}

TEST_CASE("thresholds: sensitivity and specificity at a threshold and at Youden's optimum") {
  const std::vector<float> y{0, 0, 1, 1, 1, 0}, s{0.1f, 0.4f, 0.35f, 0.8f, 0.7f, 0.2f};
  const Decisions at = decisions_at(y, s, double(0.35f));
  REQUIRE(at.sensitivity().value());
  CHECK(*at.sensitivity().value() == doctest::Approx(1.0));
  CHECK(*at.specificity().value() == doctest::Approx(2.0 / 3));
  const auto best = choose_threshold(y, s, OperatingRule{});
  REQUIRE(best);
  CHECK(best->threshold == double(0.35f));
  CHECK(best->sensitivity + best->specificity - 1 == doctest::Approx(2.0 / 3));
}

// Every rule against a brute force over every candidate threshold, on random scores with ties and
// missing labels: the rule's threshold is the one its definition (metrics/decisions.h) names.
TEST_CASE("operating points: each rule picks the threshold its definition names") {
  Generator gen(7);
  std::vector<float> y, s;
  for (int i = 0; i < 300; ++i) {
    const uint64_t b = gen.bits(uint64_t(i));
    y.push_back(b % 11 == 0 ? std::nanf("") : (b >> 8) % 3 == 0 ? 1.0f : 0.0f);
    s.push_back(float((b >> 20) % 50) / 50.0f + (y.back() == 1.0f ? 0.2f : 0.0f));  // ties: 50 levels
  }
  struct Candidate {
    double t, sens, spec, ppv;
  };
  std::vector<Candidate> all;  // from the highest threshold down
  std::vector<float> levels(s);
  std::sort(levels.begin(), levels.end(), std::greater<>());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  for (float t : levels) {
    const Decisions d = decisions_at(y, s, t);
    all.push_back({t, *d.sensitivity().value(), *d.specificity().value(), *d.ppv().value()});
  }
  const auto pick = [&](const char* rule) { return choose_threshold(y, s, OperatingRule::parse(rule))->threshold; };
  const auto best_j = std::max_element(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    return a.sens + a.spec < b.sens + b.spec;  // the first maximum: the highest threshold
  });
  CHECK(pick("youden") == best_j->t);
  const auto first_sens = std::find_if(all.begin(), all.end(), [](const Candidate& c) { return c.sens >= 0.9; });
  CHECK(pick("sensitivity=0.9") == first_sens->t);
  const auto last_spec = std::find_if(all.rbegin(), all.rend(), [](const Candidate& c) { return c.spec >= 0.9; });
  CHECK(pick("specificity=0.9") == last_spec->t);
  const auto last_ppv = std::find_if(all.rbegin(), all.rend(), [](const Candidate& c) { return c.ppv >= 0.8; });
  CHECK(pick("ppv=0.8") == last_ppv->t);
  // Negatives score highest: PPV is 0, 0, 1/3, 1/2 from the top, and never reaches 0.6.
  CHECK_FALSE(choose_threshold({1, 0, 1, 0}, {0.5f, 0.9f, 0.4f, 0.8f}, OperatingRule::parse("ppv=0.6")).has_value());
  CHECK_FALSE(choose_threshold({0, 0, std::nanf("")}, {0.1f, 0.2f, 0.3f}, OperatingRule{}).has_value());  // one class
  CHECK(OperatingRule::parse("sensitivity=0.9").name() == "sensitivity=0.9");
  for (const char* bad : {"youden=1", "sensitivity", "sensitivity=1.5", "ppv=x", "f1"})
    CHECK_THROWS_WITH_AS(OperatingRule::parse(bad), doctest::Contains("expected youden, sensitivity=S"), Error);
}

TEST_CASE("decisions: counts at a threshold, and Wilson intervals as Newcombe (1998) tabulates them") {
  const Decisions d = decisions_at({1, 1, 0, 0, std::nanf("")}, {0.9f, 0.2f, 0.5f, 0.1f, 0.99f}, 0.5);
  CHECK(d.tp == 1);
  CHECK(d.fn == 1);
  CHECK(d.fp == 1);
  CHECK(d.tn == 1);
  // Newcombe, Statistics in Medicine 17:857 (1998), Table II, method 3 (score).
  const struct {
    int64_t k, n;
    double low, high;
  } table[] = {{81, 263, 0.2553, 0.3662}, {15, 148, 0.0624, 0.1605}, {0, 20, 0.0, 0.1611}, {1, 29, 0.0061, 0.1718}};
  for (const auto& row : table) {
    const auto ci = Rate{row.k, row.n}.ci95();
    REQUIRE(ci);
    CHECK(std::abs(ci->low - row.low) < 5e-5);
    CHECK(std::abs(ci->high - row.high) < 5e-5);
  }
  CHECK_FALSE(Rate{0, 0}.value().has_value());
}

TEST_CASE("bootstrap intervals are seeded and contain the AUROC") {
  std::vector<float> y, s;
  Generator gen(1);
  for (int i = 0; i < 500; ++i) {
    y.push_back(i % 3 == 0 ? 1.0f : 0.0f);
    s.push_back(float(double(gen.bits(uint64_t(i)) >> 11) * 0x1.0p-53 + (i % 3 == 0 ? 0.3 : 0.0)));
  }
  const auto a = auroc_ci95(y, s, 200, 7), b = auroc_ci95(y, s, 200, 7);
  REQUIRE(a);
  CHECK(a->low == b->low);
  CHECK(a->high == b->high);
  // The resamples run in parallel: one thread gives the same interval, another seed another one.
  const int threads = rg::num_threads();
  rg::set_num_threads(1);
  const auto single = auroc_ci95(y, s, 200, 7);
  rg::set_num_threads(threads);
  CHECK(single->low == a->low);
  CHECK(single->high == a->high);
  const auto other = auroc_ci95(y, s, 200, 8);
  CHECK((other->low != a->low || other->high != a->high));
  CHECK(a->low < *auroc(y, s));
  CHECK(a->high > *auroc(y, s));
  CHECK(a->high - a->low < 0.2);
}

TEST_CASE("evaluate: rows matched by image name; a prediction without labels is an error") {
  data::LabelTable truth;
  truth.source = "labels.csv";
  truth.label_names = {"Mass", "Hernia"};
  truth.images = {{"a.png", {1, 0}, "1"}, {"b.png", {0, 0}, "2"}, {"c.png", {1, 0}, "3"}, {"d.png", {0, 0}, "4"}};
  const auto preds =
      data::parse_csv("Image Index,prob_Mass,prob_Hernia\nc.png,0.9,0.1\na.png,0.2,0.5\nb.png,0.4,0.3\n", "preds.csv");
  const Evaluation e = evaluate(truth, preds, 50, 0);
  CHECK(e.n == 3);
  CHECK(*e.per_label[0].auc == doctest::Approx(0.5));  // positives 0.9, 0.2 against the negative 0.4
  CHECK_FALSE(e.per_label[1].auc.has_value());         // Hernia: no positives -> n/a
  CHECK(*e.mean_auc == doctest::Approx(0.5));
  const std::string json = e.to_json();
  CHECK(json.find("\"Hernia\": null") != std::string::npos);
  CHECK(json.find("\"mean_auc\": 0.5") != std::string::npos);
  CHECK(e.table().find("n/a") != std::string::npos);
  CHECK_THROWS_WITH_AS(evaluate(truth, data::parse_csv("Image,Mass,Hernia\nz.png,0.5,0.5\n", "p.csv")),
                       doctest::Contains("p.csv:2:1: column 'Image': image z.png has no labels in labels.csv"), Error);
  CHECK_THROWS_WITH_AS(evaluate(truth, data::parse_csv("Image,Mass\na.png,0.5\n", "p.csv")),
                       doctest::Contains("p.csv: no column 'Hernia' or 'prob_Hernia'"), Error);
  CHECK_THROWS_WITH_AS(evaluate(truth, data::parse_csv("Image,Mass,Hernia\na.png,high,0.5\n", "p.csv")),
                       doctest::Contains("p.csv:2:2: column 'Mass': expected a probability from 0 to 1, found 'high'"),
                       Error);
  // Each image is predicted once: a second row would silently replace the first.
  CHECK_THROWS_WITH_AS(
      evaluate(truth, data::parse_csv("Image,Mass,Hernia\na.png,0.5,0.5\nb.png,0.1,0.1\na.png,0.9,0.5\n", "p.csv")),
      doctest::Contains("p.csv:4:1: column 'Image': image a.png is predicted again (first on line 2)"), Error);
  // Probabilities are plain decimals from 0 to 1: no NaN, infinities, hex floats, or values outside.
  for (const std::string bad : {"nan", "NaN", "inf", "-inf", "0x1p-1", "", " 0.5"})
    CHECK_THROWS_WITH_AS(
        evaluate(truth, data::parse_csv("Image,Mass,Hernia\na.png,0.5," + bad + "\n", "p.csv")),
        doctest::Contains(
            ("p.csv:2:3: column 'Hernia': expected a probability from 0 to 1, found '" + bad + "'").c_str()),
        Error);
  for (const std::string bad : {"-0.1", "1.5", "1e3"})
    CHECK_THROWS_WITH_AS(
        evaluate(truth, data::parse_csv("Image,Mass,Hernia\na.png," + bad + ",0.5\n", "p.csv")),
        doctest::Contains(("p.csv:2:2: column 'Mass': probability " + bad + " is outside 0..1").c_str()), Error);
  CHECK(evaluate(truth, data::parse_csv("Image,Mass,Hernia\na.png,1,0\nb.png,1e-3,0.0\n", "p.csv")).n == 2);
}

TEST_CASE("evaluate: a missing label (NaN) leaves its image out of that label's metrics; known for none is n/a") {
  const float nan = std::nanf("");
  const std::vector<std::vector<float>> y = {{1, nan, 0, 0}, {nan, nan, nan, nan}};
  const std::vector<std::vector<float>> score = {{0.9f, 0.1f, 0.4f, 0.95f}, {0.1f, 0.2f, 0.3f, 0.4f}};
  const Evaluation e = evaluate({"Mass", "Hernia"}, y, score);
  CHECK(e.per_label[0].positives == 1);
  CHECK(e.per_label[0].negatives == 2);
  CHECK(*e.per_label[0].auc == doctest::Approx(0.5));  // 0.9 against 0.4 and 0.95; image 1 left out
  CHECK_FALSE(e.per_label[1].auc.has_value());
  CHECK(*e.mean_auc == doctest::Approx(0.5));
}

TEST_CASE("real data: a trained DenseNet121's 22,433 test predictions reproduce NIH's published AUROCs") {
  if (test::skip_without_shared_data()) return;
  const std::string dir = test::shared_data_dir();
  const data::LabelTable truth = data::read_labels(dir + "/nih-metadata/Data_Entry_2017_v2020.csv.gz");
  const data::CsvTable preds = data::read_csv(dir + "/chexnet-preds/preds.csv.gz");
  const auto start = std::chrono::steady_clock::now();
  const Evaluation e = evaluate(truth, preds);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("evaluated 22,433 x 14 predictions in " << seconds << " s");
  CHECK(e.n == 22433);
  const data::CsvTable expected = data::read_csv(dir + "/chexnet-preds/aucs.csv");
  REQUIRE(expected.rows.size() == 14);
  for (const auto& row : expected.rows) {
    const auto m =
        std::find_if(e.per_label.begin(), e.per_label.end(), [&](const auto& l) { return l.label == row.fields[0]; });
    REQUIRE_MESSAGE(m != e.per_label.end(), "no AUROC for ", row.fields[0]);
    CHECK(*m->auc == doctest::Approx(std::stod(row.fields[1])).epsilon(1e-6));
  }
}

TEST_CASE("real data: the same predictions score mean AUROC 0.810 on the NIH sample's test.csv") {
  if (test::skip_without_shared_data()) return;
  const std::string dir = test::shared_data_dir();
  const Evaluation e = evaluate(data::read_labels(dir + "/nih-sample/test.csv"), [&] {
    // Keep only the prediction rows of test.csv's 150 images.
    data::CsvTable preds = data::read_csv(dir + "/chexnet-preds/preds.csv.gz");
    const data::LabelTable test_set = data::read_labels(dir + "/nih-sample/test.csv");
    std::set<std::string> names;
    for (const auto& item : test_set.images) names.insert(item.image);
    std::erase_if(preds.rows, [&](const data::CsvRow& row) { return !names.count(row.fields[0]); });
    return preds;
  }());
  CHECK(e.n == 150);
  CHECK(*e.mean_auc == doctest::Approx(0.810).epsilon(0.001));
}
