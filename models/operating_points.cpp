#include "models/operating_points.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

#include "tensor/error.h"

namespace rg {

std::string OperatingPoints::to_json() const {
  nlohmann::ordered_json j = {{"rule", rule}, {"set", set}, {"labels", nlohmann::ordered_json::object()}};
  for (const auto& [label, p] : labels)
    j["labels"][label] = {{"threshold", p.threshold},
                          {"positives", p.positives},
                          {"negatives", p.negatives},
                          {"sensitivity", p.sensitivity},
                          {"specificity", p.specificity}};
  return j.dump();
}

OperatingPoints OperatingPoints::from_json(const std::string& text, const std::string& path) {
  const auto where = path + ": metadata operating_points: ";
  OperatingPoints points;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    points.rule = j.at("rule").get<std::string>();
    points.set = j.at("set").get<std::string>();
    RG_CHECK(!points.rule.empty(), where, "an empty rule");
    for (const auto& [label, p] : j.at("labels").items()) {
      Point point{p.at("threshold").get<double>(), p.at("positives").get<int64_t>(), p.at("negatives").get<int64_t>(),
                  p.at("sensitivity").get<double>(), p.at("specificity").get<double>()};
      RG_CHECK(std::isfinite(point.threshold) && point.threshold >= 0 && point.threshold <= 1, where, "label ", label,
               ": threshold ", point.threshold, " is not a probability");
      points.labels[label] = point;
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + "expected {\"rule\", \"set\", \"labels\": {label: {\"threshold\", ...}}} (" + e.what() + ")");
  }
  return points;
}

std::vector<std::optional<double>> OperatingPoints::thresholds(const std::vector<std::string>& outputs) const {
  std::vector<std::optional<double>> out;
  for (const std::string& label : outputs) {
    const auto at = labels.find(label);
    out.push_back(at == labels.end() ? std::nullopt : std::optional<double>(at->second.threshold));
  }
  return out;
}

std::map<std::string, double> OperatingPoints::thresholds() const {
  std::map<std::string, double> out;
  for (const auto& [label, point] : labels) out[label] = point.threshold;
  return out;
}

std::string OperatingPoints::describe() const {
  if (empty()) return "none\n";
  std::string text = rule + " on " + set + "\n";
  for (const auto& [label, p] : labels) {
    char line[256];
    std::snprintf(line, sizeof(line), "    %-26s >= %.4f  (sensitivity %.3f, specificity %.3f; %lld+ %lld-)\n",
                  label.c_str(), p.threshold, p.sensitivity, p.specificity, static_cast<long long>(p.positives),
                  static_cast<long long>(p.negatives));
    text += line;
  }
  return text;
}

}  // namespace rg
