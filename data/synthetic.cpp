#include "data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>

#include "data/csv.h"
#include "data/dicom.h"
#include "tensor/io.h"
#include "data/image.h"
#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

namespace rg::data {

const double kNihPrevalence[14] = {0.1031, 0.0248, 0.0416, 0.0205, 0.1188, 0.0224, 0.0150,
                                   0.0020, 0.1774, 0.0516, 0.0565, 0.0302, 0.0128, 0.0473};

namespace {

enum Finding {
  kAtelectasis,
  kCardiomegaly,
  kConsolidation,
  kEdema,
  kEffusion,
  kEmphysema,
  kFibrosis,
  kHernia,
  kInfiltration,
  kMass,
  kNodule,
  kPleuralThickening,
  kPneumonia,
  kPneumothorax
};

// A stream of uniform numbers from one Generator.
struct Dice {
  Generator gen;
  uint64_t next = 0;
  explicit Dice(uint64_t seed) : gen(seed) {}
  double uniform(double lo = 0, double hi = 1) { return lo + (hi - lo) * double(gen.bits(next++) >> 11) * 0x1.0p-53; }
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
  }
  bool chance(double p) { return uniform() < p; }
};

// Box in normalized coordinates (0..1 across the image).
struct Box {
  double x0, y0, x1, y1;
};

// A float canvas with coordinates in 0..1; shapes add density (bright = dense, as on a film).
struct Film {
  int size;
  std::vector<float> density;
  explicit Film(int n) : size(n), density(size_t(n) * n, 0.0f) {}

  // Adds amount * mask(u, v) over the box [x0, x1] x [y0, y1] (normalized coordinates).
  template <typename Mask>
  void add(const Box& box, double amount, Mask&& mask) {
    const int px0 = std::max(0, int(box.x0 * size)), px1 = std::min(size - 1, int(box.x1 * size) + 1);
    const int py0 = std::max(0, int(box.y0 * size)), py1 = std::min(size - 1, int(box.y1 * size) + 1);
    for (int y = py0; y <= py1; ++y)
      for (int x = px0; x <= px1; ++x) {
        const double m = mask((x + 0.5) / size, (y + 0.5) / size);
        if (m != 0) density[size_t(y) * size + x] += float(amount * m);
      }
  }

  // An ellipse with a soft edge (softness = fraction of the radius over which it fades).
  void ellipse(double cx, double cy, double rx, double ry, double amount, double softness = 0.15, double angle = 0) {
    const double c = std::cos(angle), s = std::sin(angle), r = std::max(rx, ry);
    add({cx - r, cy - r, cx + r, cy + r}, amount, [&](double u, double v) {
      const double du = u - cx, dv = v - cy;
      const double a = (c * du + s * dv) / rx, b = (-s * du + c * dv) / ry;
      return soft_inside(std::sqrt(a * a + b * b), softness);
    });
  }

  static double soft_inside(double d, double softness) {  // 1 inside, 0 outside, smooth between
    if (d <= 1 - softness) return 1;
    if (d >= 1) return 0;
    const double t = (1 - d) / softness;
    return t * t * (3 - 2 * t);
  }
};

// A patient's anatomy: shared by all their images.
struct Anatomy {
  double body_rx, lung_rx, lung_ry, lung_cy, lung_dx, heart_scale, rib_gap, tilt;
  static Anatomy draw(Dice& d) {
    return {d.uniform(0.42, 0.47),   d.uniform(0.14, 0.16), d.uniform(0.27, 0.31), d.uniform(0.45, 0.49),
            d.uniform(0.175, 0.195), d.uniform(0.9, 1.05),  d.uniform(0.06, 0.07), d.uniform(-0.03, 0.03)};
  }
};

// A lung: an upright ellipse that narrows towards the apex.
struct Lung {
  double cx, cy, rx, ry;
  Box box() const { return {cx - rx, cy - ry, cx + rx, cy + ry}; }
  // 0 at the centre, 1 on the outline.
  double radius(double u, double v) const {
    const double b = (v - cy) / ry;
    const double taper = 0.7 + 0.3 * std::clamp(b + 1.0, 0.0, 1.0);  // 0.7 at the apex, 1 from mid-height
    const double a = (u - cx) / (rx * taper);
    return std::sqrt(a * a + b * b);
  }
  bool inside(double u, double v, double margin = 1.0) const { return radius(u, v) <= margin; }
  double mask(double u, double v) const { return Film::soft_inside(radius(u, v), 0.12); }  // the lung's own fade
};

struct Planted {
  int finding;
  Box box;
};

Box clip(Box b) { return {std::max(0.0, b.x0), std::max(0.0, b.y0), std::min(1.0, b.x1), std::min(1.0, b.y1)}; }

// Draws one image of a patient with the given findings; returns where each finding went.
std::vector<Planted> render(Film& film, const Anatomy& a, const std::vector<bool>& has, Dice& d) {
  std::vector<Planted> planted;
  const double shift_x = d.uniform(-0.02, 0.02), shift_y = d.uniform(-0.02, 0.02);
  const double cx = 0.5 + shift_x;
  const bool emphysema = has[kEmphysema];
  const double lung_grow = emphysema ? 1.12 : 1.0;
  Lung lungs[2] = {{cx - a.lung_dx, a.lung_cy + shift_y, a.lung_rx * lung_grow, a.lung_ry * lung_grow},
                   {cx + a.lung_dx, a.lung_cy + shift_y, a.lung_rx * lung_grow, a.lung_ry * lung_grow}};

  film.add({0, 0, 1, 1}, 18, [](double, double) { return 1.0; });     // background
  film.ellipse(cx, 0.58 + shift_y, a.body_rx, 0.62, 115, 0.08);       // soft tissue
  film.ellipse(cx, 0.14 + shift_y, a.body_rx * 0.55, 0.12, 25, 0.3);  // shoulders/neck
  for (const Lung& l : lungs)
    film.add(l.box(), emphysema ? -105 : -80, [&](double u, double v) { return l.mask(u, v); });
  film.add({cx - 0.05, 0, cx + 0.05, 1}, 22, [&](double u, double) {  // spine
    return Film::soft_inside(std::abs(u - cx) / 0.05, 0.8);
  });
  // Ribs: gently curved bands across each lung, fading towards the middle.
  for (const Lung& l : lungs)
    for (double y = l.cy - l.ry * 0.95; y < l.cy + l.ry; y += a.rib_gap) {
      film.add(l.box(), 16, [&](double u, double v) {
        const double along = (u - l.cx) / l.rx;
        const double centre = y + 0.035 * along * along + 0.02 * along * (l.cx < cx ? -1 : 1);
        return Film::soft_inside(std::abs(v - centre) / 0.011, 0.6) * (l.inside(u, v, 1.05) ? 1.0 : 0.4);
      });
    }
  // Heart: lower middle, bulging to the image's right (the patient's left).
  const double heart = a.heart_scale * (has[kCardiomegaly] ? d.uniform(1.4, 1.55) : 1.0);
  const double hx = cx + 0.05 * heart, hy = a.lung_cy + shift_y + 0.16, hrx = 0.12 * heart, hry = 0.095 * heart;
  // The heart is soft tissue: over the lungs it fills their darkness in (a clear silhouette);
  // over the mediastinum, already dense, it adds little.
  {
    const double c = std::cos(-0.35), s = std::sin(-0.35), r = std::max(hrx, hry);
    film.add({hx - r, hy - r, hx + r, hy + r}, 75, [&](double u, double v) {
      const double du = u - hx, dv = v - hy;
      const double a2 = (c * du + s * dv) / hrx, b2 = (-s * du + c * dv) / hry;
      const double in_lung = std::max(lungs[0].mask(u, v), lungs[1].mask(u, v));
      return Film::soft_inside(std::sqrt(a2 * a2 + b2 * b2), 0.15) * (0.15 + 0.85 * in_lung);
    });
  }
  if (has[kCardiomegaly]) planted.push_back({kCardiomegaly, clip({hx - hrx, hy - hry, hx + hrx, hy + hry})});

  auto pick_lung = [&]() -> const Lung& { return lungs[d.chance(0.5) ? 0 : 1]; };
  // A point well inside a lung (polar, at most `reach` of the radius from its centre).
  auto point_in = [&](const Lung& l, double reach, double& u, double& v) {
    const double r = reach * std::sqrt(d.uniform()), t = d.uniform(0, 2 * std::numbers::pi);
    u = l.cx + r * l.rx * std::cos(t);
    v = l.cy + r * l.ry * std::sin(t);
  };
  auto round_opacity = [&](int finding, double r_lo, double r_hi, double amount) {
    const Lung& l = pick_lung();
    double u, v;
    point_in(l, 0.6, u, v);
    const double r = d.uniform(r_lo, r_hi);
    film.ellipse(u, v, r, r * d.uniform(0.85, 1.0), amount, 0.35);
    planted.push_back({finding, clip({u - r, v - r, u + r, v + r})});
  };

  if (has[kNodule]) round_opacity(kNodule, 0.014, 0.022, 75);
  if (has[kMass]) round_opacity(kMass, 0.045, 0.07, 85);
  if (has[kEffusion]) {
    const Lung& l = pick_lung();
    const double level = l.cy + l.ry * d.uniform(0.25, 0.5);  // fluid top, higher at the side wall
    const double side = l.cx < cx ? -1 : 1;
    film.add(l.box(), 72, [&](double u, double v) {
      const double meniscus = level - 0.05 * std::max(0.0, side * (u - l.cx) / l.rx);
      return l.mask(u, v) * Film::soft_inside(std::max(0.0, (meniscus - v) / 0.02 + 1), 0.9);
    });
    planted.push_back({kEffusion, clip({l.cx - l.rx, level - 0.05, l.cx + l.rx, l.cy + l.ry})});
  }
  if (has[kAtelectasis]) {  // a plate-like band in the lower lung
    const Lung& l = pick_lung();
    const double v0 = l.cy + l.ry * d.uniform(0.1, 0.45), tilt = d.uniform(-0.35, 0.35);
    film.add(l.box(), 70, [&](double u, double v) {
      const double line = v0 + tilt * (u - l.cx);
      return l.mask(u, v) * Film::soft_inside(std::abs(v - line) / 0.022, 0.6);
    });
    planted.push_back({kAtelectasis, clip({l.cx - l.rx * 0.9, v0 - 0.04 - std::abs(tilt) * l.rx, l.cx + l.rx * 0.9,
                                           v0 + 0.04 + std::abs(tilt) * l.rx})});
  }
  if (has[kPneumothorax]) {  // the outer upper rim of a lung: black, no markings, a thin pleural line
    const Lung& l = pick_lung();
    const double side = l.cx < cx ? -1 : 1, depth = d.uniform(0.25, 0.4);
    auto rim = [&](double u, double v) {  // 0 at the lung edge, growing inwards
      const double a2 = (u - l.cx) / l.rx, b2 = (v - l.cy) / l.ry;
      return 1.0 - std::sqrt(a2 * a2 + b2 * b2);
    };
    film.add(l.box(), -45, [&](double u, double v) {
      const bool region = side * (u - l.cx) > -0.2 * l.rx && v < l.cy + 0.2 * l.ry;
      const double r = rim(u, v);
      return region && r > 0 && r < depth ? 1.0 : 0.0;
    });
    film.add(l.box(), 55, [&](double u, double v) {
      const bool region = side * (u - l.cx) > -0.2 * l.rx && v < l.cy + 0.2 * l.ry;
      return region ? Film::soft_inside(std::abs(rim(u, v) - depth) / 0.02, 0.5) : 0.0;
    });
    const double x0 = side < 0 ? l.cx - l.rx : l.cx - 0.2 * l.rx, x1 = side < 0 ? l.cx + 0.2 * l.rx : l.cx + l.rx;
    planted.push_back({kPneumothorax, clip({x0, l.cy - l.ry, x1, l.cy + 0.2 * l.ry})});
  }
  auto cloud = [&](int finding, int blobs, double spread, double r_lo, double r_hi, double amount) {
    const Lung& l = pick_lung();
    double u0, v0;
    point_in(l, 0.5, u0, v0);
    Box box{1, 1, 0, 0};
    for (int b = 0; b < blobs; ++b) {
      const double u = u0 + d.normal() * spread, v = v0 + d.normal() * spread, r = d.uniform(r_lo, r_hi);
      film.ellipse(u, v, r, r, amount, 0.8);
      box = {std::min(box.x0, u - r), std::min(box.y0, v - r), std::max(box.x1, u + r), std::max(box.y1, v + r)};
    }
    planted.push_back({finding, clip(box)});
  };
  if (has[kConsolidation]) cloud(kConsolidation, 7, 0.025, 0.03, 0.05, 30);
  if (has[kPneumonia]) cloud(kPneumonia, 4, 0.03, 0.02, 0.035, 35);
  if (has[kInfiltration]) {  // streaks over most of one lung
    const Lung& l = pick_lung();
    const double phase = d.uniform(0, 6.28), freq = d.uniform(55, 75);
    film.add(l.box(), 20, [&](double u, double v) {
      if (!l.inside(u, v, 0.95)) return 0.0;
      return 0.5 + 0.25 * std::sin(freq * (u + 0.6 * v) + phase + 4 * std::sin(23 * v)) +
             0.25 * std::sin(1.7 * freq * (v - 0.3 * u) + 2 * phase);
    });
    planted.push_back(
        {kInfiltration, clip({l.cx - l.rx * 0.95, l.cy - l.ry * 0.95, l.cx + l.rx * 0.95, l.cy + l.ry * 0.95})});
  }
  if (has[kEdema]) {  // "bat wings": haze around both hila
    for (const Lung& l : lungs) {
      const double hu = l.cx + (l.cx < cx ? 0.4 : -0.4) * l.rx;
      film.ellipse(hu, l.cy + 0.02, l.rx * 0.75, l.ry * 0.55, 40, 0.9);
    }
    planted.push_back({kEdema, clip({lungs[0].cx - lungs[0].rx * 0.4, lungs[0].cy - lungs[0].ry * 0.55,
                                     lungs[1].cx + lungs[1].rx * 0.4, lungs[1].cy + lungs[1].ry * 0.6})});
  }
  if (has[kEmphysema])
    planted.push_back({kEmphysema, clip({lungs[0].cx - lungs[0].rx, lungs[0].cy - lungs[0].ry,
                                         lungs[1].cx + lungs[1].rx, lungs[1].cy + lungs[1].ry})});
  if (has[kFibrosis]) {  // a fine net of lines in both lower lungs
    const double f = d.uniform(140, 170);
    for (const Lung& l : lungs)
      film.add(l.box(), 22, [&](double u, double v) {
        if (!l.inside(u, v, 0.95) || v < l.cy) return 0.0;
        const double net = std::max(std::abs(std::sin(f * u)), std::abs(std::sin(f * v)));
        return std::pow(net, 8.0);
      });
    planted.push_back({kFibrosis, clip({lungs[0].cx - lungs[0].rx, lungs[0].cy, lungs[1].cx + lungs[1].rx,
                                        lungs[0].cy + lungs[0].ry})});
  }
  if (has[kPleuralThickening]) {  // a bright band along the outer wall of one lung
    const Lung& l = pick_lung();
    const double side = l.cx < cx ? -1 : 1;
    film.add(l.box(), 60, [&](double u, double v) {
      const double a2 = (u - l.cx) / l.rx, b2 = (v - l.cy) / l.ry;
      const double edge = std::abs(std::sqrt(a2 * a2 + b2 * b2) - 0.97);
      return side * (u - l.cx) > 0.3 * l.rx ? Film::soft_inside(edge / 0.07, 0.6) : 0.0;
    });
    const double x0 = side < 0 ? l.cx - l.rx * 1.05 : l.cx + 0.3 * l.rx,
                 x1 = side < 0 ? l.cx - 0.3 * l.rx : l.cx + l.rx * 1.05;
    planted.push_back({kPleuralThickening, clip({x0, l.cy - l.ry, x1, l.cy + l.ry})});
  }
  if (has[kHernia]) {  // a round density with an air pocket, behind the heart above the diaphragm
    const double u = cx - 0.01, v = hy + 0.07, r = d.uniform(0.05, 0.07);
    film.ellipse(u, v, r, r * 0.8, 45, 0.3);
    film.ellipse(u + r * 0.2, v - r * 0.1, r * 0.35, r * 0.25, -70, 0.5);
    planted.push_back({kHernia, clip({u - r, v - r, u + r, v + r})});
  }

  // Exposure and quantum noise.
  const double gain = d.uniform(0.9, 1.08);
  Dice noise(d.gen.bits(d.next++));
  for (float& p : film.density) p = float(p * gain + 3.5 * noise.normal());
  return planted;
}

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", v);
  return buffer;
}

const char* extension(ImageFormat format) {
  return format == ImageFormat::kJpeg ? "jpg" : format == ImageFormat::kDicom ? "dcm" : "png";
}

// The image's file; a DICOM in `layout`, with the patient's ID and a unique `uid`.
std::string encode(const GrayImage& image, ImageFormat format, DicomLayout layout, const std::string& patient_id,
                   uint64_t uid) {
  switch (format) {
    case ImageFormat::kPng: return encode_png(gray_levels(image), image.width, image.height, 1);
    case ImageFormat::kPng16: {  // the same gray levels, g * 257: decoded (/ 257) they are the 8-bit file's
      std::vector<uint16_t> samples;
      for (uint8_t g : gray_levels(image)) samples.push_back(uint16_t(g * 257));
      return encode_png16(samples, image.width, image.height);
    }
    case ImageFormat::kJpeg: return encode_jpeg(image);
    case ImageFormat::kDicom: return encode_dicom(image, layout, patient_id, uid);
  }
  throw Error("synthetic: unknown image format");
}

}  // namespace

SyntheticSummary write_synthetic_dataset(const std::string& dir, const SyntheticOptions& options) {
  RG_CHECK(options.patients > 0 && options.max_images_per_patient > 0 && options.size >= 32,
           "write_synthetic_dataset: need patients > 0, max_images_per_patient > 0 and size >= 32");
  namespace fs = std::filesystem;
  fs::create_directories(fs::path(dir) / "images");

  SyntheticSummary summary;
  summary.all.source = (fs::path(dir) / "labels.csv").string();
  summary.all.label_names.assign(kPathologies.begin(), kPathologies.end());
  std::string boxes = csv_line({"Image", "Finding", "x", "y", "w", "h"});
  const int n = options.size;

  // Patients are independent (each has its own seeded dice), so they are drawn in parallel and
  // gathered in order: the output does not depend on the number of threads.
  struct PatientOutput {
    std::vector<LabeledImage> images;
    std::string boxes;
  };
  std::vector<PatientOutput> outputs(options.patients);
  parallel_for(options.patients, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      Dice patient_dice(Generator(options.seed).bits(uint64_t(p)));
      const Anatomy anatomy = Anatomy::draw(patient_dice);
      const int images = 1 + int(patient_dice.uniform() * options.max_images_per_patient);
      const std::string patient_id = std::to_string(p + 1);
      std::vector<bool> previous(14, false);
      for (int k = 0; k < images; ++k) {
        Dice d(patient_dice.gen.bits(1000 + uint64_t(k)));
        std::vector<bool> has(14);
        for (int f = 0; f < 14; ++f) {
          const double prevalence = std::min(0.5, kNihPrevalence[f] * options.prevalence_scale);
          has[f] = (previous[f] && d.chance(0.6)) || d.chance(prevalence);
        }
        previous = has;
        Film film(n);
        const std::vector<Planted> planted = render(film, anatomy, has, d);

        char name[64];
        std::snprintf(name, sizeof(name), "%08lld_%03d.%s", static_cast<long long>(p + 1), k,
                      extension(options.format));
        GrayImage image(n, n);
        image.pixels = std::move(film.density);
        write_file_atomic((fs::path(dir) / "images" / name).string(),
                          encode(image, options.format, kDicomLayouts[(p + k) % 3], patient_id, d.gen.bits(7)));

        LabeledImage item{name, std::vector<float>(14, 0.0f), patient_id};
        for (int f = 0; f < 14; ++f) item.labels[f] = has[f] ? 1.0f : 0.0f;
        outputs[p].images.push_back(item);
        for (const Planted& pl : planted)
          outputs[p].boxes += csv_line({name, kPathologies[pl.finding], number(pl.box.x0 * n), number(pl.box.y0 * n),
                                        number((pl.box.x1 - pl.box.x0) * n), number((pl.box.y1 - pl.box.y0) * n)});
      }
    }
  });
  for (const PatientOutput& out : outputs) {
    summary.all.images.insert(summary.all.images.end(), out.images.begin(), out.images.end());
    boxes += out.boxes;
  }
  summary.images = int64_t(summary.all.size());
  summary.patients = options.patients;

  write_labels((fs::path(dir) / "labels.csv").string(), summary.all);
  SplitOptions split = options.split;
  split.seed = options.seed;
  summary.split = split_by_patient(summary.all, split);
  write_labels((fs::path(dir) / "train.csv").string(), summary.split.train);
  write_labels((fs::path(dir) / "valid.csv").string(), summary.split.valid);
  write_labels((fs::path(dir) / "test.csv").string(), summary.split.test);
  write_file_atomic((fs::path(dir) / "boxes.csv").string(), boxes);
  return summary;
}

}  // namespace rg::data
