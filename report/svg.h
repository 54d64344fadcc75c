// Small SVG charts (bars and lines) for the report: plain text, viewable in any browser, and
// inlined into report.html.
#pragma once

#include <string>
#include <vector>

namespace rg::report {

struct BarSeries {
  std::string name;
  std::vector<double> values;  // one per category
  std::string color;           // any SVG color
};

// Grouped vertical bars, one group per category (labels slanted under the axis).
std::string bar_chart(const std::string& title, const std::vector<std::string>& categories,
                      const std::vector<BarSeries>& series, const std::string& y_label);

struct LineSeries {
  std::string name;  // shown in the legend
  std::vector<double> x, y;
  std::string color;
};

// Each axis runs over its range widened to whole tick steps (nice_ticks).
struct Axes {
  std::string x_label, y_label;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  bool diagonal = false;  // the chance line y = x (for ROC curves)
  bool whole_x = false;   // x counts something whole (epochs): ticks at whole numbers only
};

// Ticks at nice numbers for [low, high]: a step of 1, 2 or 5 times a power of ten giving about
// `target` intervals (with `whole`, at least 1), from the step's multiple at or below low to the
// one at or above high. labels: each tick with as many decimals as the step needs ("0.05", "0.10").
struct Ticks {
  double first, step;
  int count;
  std::vector<std::string> labels;
  double last() const { return first + step * (count - 1); }
};
Ticks nice_ticks(double low, double high, int target = 5, bool whole = false);

std::string line_chart(const std::string& title, const Axes& axes, const std::vector<LineSeries>& series);

// A distinct color for series i.
std::string palette(size_t i);

// Escapes &, <, > and quotes for SVG/HTML text.
std::string escape(const std::string& text);

}  // namespace rg::report
