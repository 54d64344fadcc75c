#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace rg::report {

namespace {

constexpr double kWidth = 640, kHeight = 400, kLeft = 60, kRight = 70, kTop = 40,
                 kBottom = 110;  // room for slanted labels

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.1f", v);
  return b;
}

std::string tick(double v) {  // a value in a tooltip
  char b[32];
  std::snprintf(b, sizeof(b), "%.3g", v);
  return b;
}

void frame(std::ostringstream& s, const std::string& title, double height) {
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << height << "\" viewBox=\"0 0 "
    << kWidth << " " << height << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << kWidth / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" << escape(title)
    << "</text>\n";
}

}  // namespace

Ticks nice_ticks(double low, double high, int target, bool whole) {
  if (!(high > low)) high = low + (low == 0 ? 1 : std::abs(low) * 0.1);  // an empty range gets a width
  const double raw = (high - low) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  if (whole) step = std::max(1.0, std::round(step));
  Ticks t;
  t.step = step;
  t.first = std::floor(low / step + 1e-9) * step;
  t.count = int(std::ceil(high / step - 1e-9) - std::floor(low / step + 1e-9)) + 1;
  const int decimals = std::max(0, int(-std::floor(std::log10(step) + 1e-9)));
  for (int i = 0; i < t.count; ++i) {
    char b[32];
    const double v = t.first + step * i;
    std::snprintf(b, sizeof(b), "%.*f", decimals, std::abs(v) < step * 1e-9 ? 0.0 : v);
    t.labels.push_back(b);
  }
  return t;
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string palette(size_t i) {
  static const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                 "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39"};
  return colors[i % 14];
}

std::string bar_chart(const std::string& title, const std::vector<std::string>& categories,
                      const std::vector<BarSeries>& series, const std::string& y_label) {
  double highest = 0;
  for (const auto& s : series)
    for (double v : s.values) highest = std::max(highest, v);
  const Ticks ticks = nice_ticks(0, highest > 0 ? highest : 1);
  const double top = ticks.last();
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  std::ostringstream s;
  frame(s, title, kHeight);
  for (int t = 0; t < ticks.count; ++t) {
    const double v = ticks.first + ticks.step * t, y = kTop + plot_h * (1 - v / top);
    s << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + plot_w << "\" y1=\"" << num(y) << "\" y2=\"" << num(y)
      << "\" stroke=\"#ddd\"/><text x=\"" << kLeft - 5 << "\" y=\"" << num(y + 4) << "\" text-anchor=\"end\">"
      << ticks.labels[t] << "</text>\n";
  }
  s << "<text transform=\"translate(14," << kTop + plot_h / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << escape(y_label) << "</text>\n";
  const double group = plot_w / double(std::max<size_t>(categories.size(), 1));
  const double bar = group * 0.8 / double(std::max<size_t>(series.size(), 1));
  for (size_t c = 0; c < categories.size(); ++c) {
    for (size_t k = 0; k < series.size(); ++k) {
      const double v = c < series[k].values.size() ? series[k].values[c] : 0;
      const double h = plot_h * v / top, x = kLeft + group * double(c) + group * 0.1 + bar * double(k);
      s << "<rect x=\"" << num(x) << "\" y=\"" << num(kTop + plot_h - h) << "\" width=\"" << num(bar) << "\" height=\""
        << num(h) << "\" fill=\"" << series[k].color << "\"><title>" << escape(categories[c]) << ": " << tick(v)
        << "</title></rect>\n";
    }
    const double cx = kLeft + group * (double(c) + 0.5), cy = kTop + plot_h + 10;
    s << "<text transform=\"translate(" << num(cx) << "," << num(cy) << ") rotate(45)\">" << escape(categories[c])
      << "</text>\n";
  }
  for (size_t k = 0; k < series.size() && series.size() > 1; ++k)
    s << "<rect x=\"" << kWidth - 170 << "\" y=\"" << kTop + 16 * double(k) << "\" width=\"10\" height=\"10\" fill=\""
      << series[k].color << "\"/><text x=\"" << kWidth - 155 << "\" y=\"" << kTop + 9 + 16 * double(k) << "\">"
      << escape(series[k].name) << "</text>\n";
  s << "</svg>\n";
  return s.str();
}

std::string line_chart(const std::string& title, const Axes& a, const std::vector<LineSeries>& series) {
  const double height = kHeight - 40, bottom = 70;
  const double plot_w = kWidth - kLeft - kRight - 170, plot_h = height - kTop - bottom;
  const Ticks xt = nice_ticks(a.x_min, a.x_max, 5, a.whole_x), yt = nice_ticks(a.y_min, a.y_max);
  auto px = [&](double x) { return kLeft + plot_w * (x - xt.first) / (xt.last() - xt.first); };
  auto py = [&](double y) { return kTop + plot_h * (1 - (y - yt.first) / (yt.last() - yt.first)); };
  std::ostringstream s;
  frame(s, title, height);
  for (int t = 0; t < yt.count; ++t) {
    const double y = py(yt.first + yt.step * t);
    s << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + plot_w << "\" y1=\"" << num(y) << "\" y2=\"" << num(y)
      << "\" stroke=\"#eee\"/><text x=\"" << kLeft - 5 << "\" y=\"" << num(y + 4) << "\" text-anchor=\"end\">"
      << yt.labels[t] << "</text>\n";
  }
  for (int t = 0; t < xt.count; ++t)
    s << "<text x=\"" << num(px(xt.first + xt.step * t)) << "\" y=\"" << kTop + plot_h + 15
      << "\" text-anchor=\"middle\">" << xt.labels[t] << "</text>\n";
  s << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << plot_w << "\" height=\"" << plot_h
    << "\" fill=\"none\" stroke=\"#444\"/>\n"
    << "<text x=\"" << kLeft + plot_w / 2 << "\" y=\"" << kTop + plot_h + 35 << "\" text-anchor=\"middle\">"
    << escape(a.x_label) << "</text>\n<text transform=\"translate(14," << kTop + plot_h / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << escape(a.y_label) << "</text>\n";
  if (a.diagonal)
    s << "<line x1=\"" << num(px(0)) << "\" y1=\"" << num(py(0)) << "\" x2=\"" << num(px(1)) << "\" y2=\"" << num(py(1))
      << "\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& l = series[k];
    s << "<polyline fill=\"none\" stroke=\"" << l.color << "\" stroke-width=\"1.5\" points=\"";
    for (size_t i = 0; i < l.x.size(); ++i) s << num(px(l.x[i])) << "," << num(py(l.y[i])) << " ";
    s << "\"/>\n";
    if (l.x.size() == 1)
      s << "<circle cx=\"" << num(px(l.x[0])) << "\" cy=\"" << num(py(l.y[0])) << "\" r=\"3\" fill=\"" << l.color
        << "\"/>\n";
    s << "<line x1=\"" << kLeft + plot_w + 10 << "\" x2=\"" << kLeft + plot_w + 25 << "\" y1=\""
      << kTop + 6 + 14 * double(k) << "\" y2=\"" << kTop + 6 + 14 * double(k) << "\" stroke=\"" << l.color
      << "\" stroke-width=\"2\"/><text x=\"" << kLeft + plot_w + 30 << "\" y=\"" << kTop + 10 + 14 * double(k) << "\">"
      << escape(l.name) << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace rg::report
