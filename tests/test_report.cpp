// The report's charts: ticks at nice numbers.
#include <doctest/doctest.h>

#include <cmath>

#include "report/svg.h"

using namespace rg::report;

TEST_CASE("chart ticks are 1, 2 or 5 times a power of ten, cover the range, and print as many decimals as they need") {
  const Ticks small = nice_ticks(0, 0.2063);  // a bar chart of frequencies (was 0.0413, 0.0825, 0.124, ...)
  CHECK(small.step == doctest::Approx(0.05));
  CHECK(small.labels == std::vector<std::string>{"0.00", "0.05", "0.10", "0.15", "0.20", "0.25"});
  const Ticks loss = nice_ticks(0.546, 2.73);  // a loss range (was 0.546, 1.09, 1.64, ...)
  CHECK(loss.step == doctest::Approx(0.5));
  CHECK(loss.first == doctest::Approx(0.5));
  CHECK(loss.last() == doctest::Approx(3.0));
  CHECK(loss.labels.front() == "0.5");
  const Ticks epochs = nice_ticks(1, 5, 5, /*whole=*/true);  // epochs (was 1, 1.8, 2.6, 3.4, ...)
  CHECK(epochs.labels == std::vector<std::string>{"1", "2", "3", "4", "5"});
  CHECK(nice_ticks(1, 2, 5, true).labels == std::vector<std::string>{"1", "2"});  // whole steps even when few
  const Ticks unit = nice_ticks(0, 1);                                            // ROC axes
  CHECK(unit.labels == std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"});
  CHECK(nice_ticks(3, 3).count >= 2);  // an empty range still gets an axis
  for (double high : {0.013, 0.7, 3.3, 47.0, 1234.0}) {
    CAPTURE(high);
    const Ticks t = nice_ticks(0, high);
    const double mantissa = t.step / std::pow(10.0, std::floor(std::log10(t.step)));
    CHECK((mantissa == doctest::Approx(1) || mantissa == doctest::Approx(2) || mantissa == doctest::Approx(5)));
    CHECK(t.last() >= high);
    CHECK(t.count >= 3);
    CHECK(t.count <= 11);
  }
}

TEST_CASE("a line chart labels its axes with the nice ticks") {
  const std::string svg = line_chart(
      "Loss",
      {.x_label = "epoch", .y_label = "loss", .x_min = 1, .x_max = 4, .y_min = 0.55, .y_max = 1.62, .whole_x = true},
      {{"train", {1, 2, 3, 4}, {1.62, 1.1, 0.8, 0.55}, "#000"}});
  CHECK(svg.find(">0.4</text>") != std::string::npos);
  CHECK(svg.find(">1.8</text>") != std::string::npos);
  CHECK(svg.find(">3</text>") != std::string::npos);
  CHECK(svg.find("middle\">1.5</text>") == std::string::npos);  // no fractional epochs on the x axis
}
