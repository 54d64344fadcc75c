#include "data/leakage.h"

#include <algorithm>
#include <map>
#include <set>

#include "tensor/error.h"
#include "tensor/random.h"

namespace rg::data {

bool check_for_leakage(const CsvTable& a, const CsvTable& b, const std::string& column) {
  const int ca = a.require_column(column), cb = b.require_column(column);
  std::set<std::string> a_values;
  for (const auto& row : a.rows) a_values.insert(row.fields[ca]);
  for (const auto& row : b.rows)
    if (a_values.count(row.fields[cb])) return true;
  return false;
}

LeakageReport find_leakage(const LabelTable& a, const LabelTable& b) {
  std::map<std::string, int64_t> in_a, in_b;
  for (const auto& item : a.images) ++in_a[item.patient_id];
  for (const auto& item : b.images) ++in_b[item.patient_id];
  LeakageReport report;
  for (const auto& [patient, count] : in_a)
    if (auto it = in_b.find(patient); it != in_b.end()) {
      report.shared_patients.push_back(patient);
      report.images_in_a += count;
      report.images_in_b += it->second;
    }
  return report;
}

std::string first_few(const std::vector<std::string>& items, size_t shown) {
  std::string s;
  for (size_t i = 0; i < items.size() && i < shown; ++i) s += (i ? ", " : "") + items[i];
  if (items.size() > shown) s += " and " + std::to_string(items.size() - shown) + " more";
  return s;
}

namespace {

// Images a table lists more than once, each named once, in table order.
std::vector<std::string> listed_twice(const LabelTable& t) {
  std::set<std::string> seen, twice;
  std::vector<std::string> out;
  for (const auto& item : t.images)
    if (!seen.insert(item.image).second && twice.insert(item.image).second) out.push_back(item.image);
  return out;
}

}  // namespace

std::string check_training_tables(const LabelTable& train, const LabelTable& valid, bool allow_patient_overlap) {
  for (const LabelTable* t : {&train, &valid}) {
    const std::vector<std::string> twice = listed_twice(*t);
    RG_CHECK(twice.empty(), t->source, " lists ", twice.size(), " image", twice.size() == 1 ? "" : "s",
             " more than once: ", first_few(twice));
  }
  std::set<std::string> in_train;
  for (const auto& item : train.images) in_train.insert(item.image);
  std::vector<std::string> in_both;
  for (const auto& item : valid.images)
    if (in_train.count(item.image)) in_both.push_back(item.image);
  RG_CHECK(in_both.empty(), in_both.size(), " image", in_both.size() == 1 ? " is" : "s are", " in both ", train.source,
           " and ", valid.source, ": ", first_few(in_both), " (validation must be images the model never trained on)");
  const LeakageReport r = find_leakage(train, valid);
  if (!r.leaked()) return "";
  const std::string facts = train.source + " and " + valid.source + " share " +
                            std::to_string(r.shared_patients.size()) + " patient" +
                            (r.shared_patients.size() == 1 ? "" : "s") + " (" + first_few(r.shared_patients) + "; " +
                            std::to_string(r.images_in_a) + " training and " + std::to_string(r.images_in_b) +
                            " validation images): the validation scores would reward recognizing patients, "
                            "not findings (the notebook's section 2.2)";
  RG_CHECK(allow_patient_overlap, facts,
           ". Split by patient (roentgen split), or pass --allow-patient-overlap to train anyway");
  return facts;
}

namespace {

// Seeded Fisher-Yates shuffle.
template <typename T>
void shuffle(std::vector<T>& items, Generator& gen) {
  const uint64_t first = gen.advance(items.size());
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[gen.bits(first + i) % i]);
}

}  // namespace

Split split_by_patient(const LabelTable& table, const SplitOptions& options) {
  const double fractions_in[3] = {options.train, options.valid, options.test};
  const double total_fraction = fractions_in[0] + fractions_in[1] + fractions_in[2];
  for (double f : fractions_in)
    RG_CHECK(f >= 0 && total_fraction > 0, "split_by_patient: fractions must be >= 0 and not all 0, got ",
             options.train, "/", options.valid, "/", options.test);

  // Patients in a seeded random order, each with the rows of its images.
  std::map<std::string, std::vector<size_t>> rows_of;
  for (size_t i = 0; i < table.images.size(); ++i) rows_of[table.images[i].patient_id].push_back(i);
  std::vector<std::string> patients;
  for (const auto& [patient, rows] : rows_of) patients.push_back(patient);
  Generator gen(options.seed);
  shuffle(patients, gen);

  double target[3];
  for (int s = 0; s < 3; ++s) target[s] = double(table.size()) * fractions_in[s] / total_fraction;
  int64_t assigned[3] = {0, 0, 0};
  std::map<std::string, int> side;  // patient -> split
  auto assign = [&](const std::string& patient, int s) {
    side[patient] = s;
    assigned[s] += int64_t(rows_of[patient].size());
  };
  // The split furthest below its target (relative to its size) takes the next patient.
  auto neediest = [&]() {
    int best = -1;
    double best_gap = 0;
    for (int s = 0; s < 3; ++s) {
      if (target[s] <= 0) continue;
      const double gap = (target[s] - double(assigned[s])) / target[s];
      if (best < 0 || gap > best_gap) best = s, best_gap = gap;
    }
    return best;
  };

  if (options.every_label_in_every_split) {
    // Rarest labels first: hand each split lacking a positive one patient that has it.
    const auto positives = table.positives();
    std::vector<size_t> order(table.label_names.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return positives[x] < positives[y]; });
    for (size_t k : order) {
      auto has_label = [&](const std::string& p) {
        for (size_t r : rows_of[p])
          if (table.images[r].labels[k] > 0.5f) return true;
        return false;
      };
      for (int s = 0; s < 3; ++s) {
        if (target[s] <= 0) continue;
        bool present = false;
        for (const auto& [p, where] : side) present = present || (where == s && has_label(p));
        if (present) continue;
        auto it = std::find_if(patients.begin(), patients.end(),
                               [&](const std::string& p) { return !side.count(p) && has_label(p); });
        RG_CHECK(it != patients.end(), "split_by_patient: label '", table.label_names[k], "' has too few patients (",
                 positives[k], " positive images) to appear in every split");
        assign(*it, s);
      }
    }
  }
  for (const auto& patient : patients)
    if (!side.count(patient)) assign(patient, neediest());

  Split split;
  LabelTable* parts[3] = {&split.train, &split.valid, &split.test};
  for (LabelTable* part : parts) {
    part->source = table.source;
    part->label_names = table.label_names;
  }
  for (size_t i = 0; i < table.images.size(); ++i)
    parts[side[table.images[i].patient_id]]->images.push_back(table.images[i]);
  return split;
}

}  // namespace rg::data
