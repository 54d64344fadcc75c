#include "data/dicom.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <iostream>
#include <optional>
#include <vector>

#include "data/dicom_file.h"
#include "data/dicom_frames.h"
#include "tensor/error.h"

namespace rg::data {

using namespace dicom;  // the tags and the frame's words (data/dicom_frames.h)

namespace {

// What the file says about its bits. GDCM's codecs put the stored bits of compressed data at the
// bottom of each word, whatever High Bit says.
Bits bits_of(const DicomFile& file, bool compressed) {
  const auto required = [&](DicomTag tag) {
    const std::optional<int64_t> v = file.word(file.set, tag, false);
    RG_CHECK(v.has_value(), file.name, ": no ", tag.describe());
    return int(*v);
  };
  Bits bits{required(kBitsAllocated), required(kBitsStored), required(kHighBit), required(kPixelRepresentation) == 1};
  if (compressed) bits.high = bits.stored - 1;
  RG_CHECK(bits.allocated == 8 || bits.allocated == 16 || bits.allocated == 32, file.name, ": ",
           kBitsAllocated.describe(), " is ", bits.allocated, " (expected 8, 16 or 32)");
  RG_CHECK(
      bits.stored >= 1 && bits.stored <= bits.allocated && bits.high >= bits.stored - 1 && bits.high < bits.allocated,
      file.name, ": ", kBitsStored.describe(), " ", bits.stored, " and ", kHighBit.describe(), " ", bits.high,
      " do not fit in ", bits.allocated, " allocated bits");
  return bits;
}

// A lookup table (Modality or VOI LUT Sequence item): inputs below `first` take the first entry,
// those past the end the last.
struct Lut {
  double first = 0;
  int bits = 16;  // of each output value
  std::vector<uint16_t> entries;
  double operator()(double v) const {
    const double i = std::clamp(std::floor(v - first), 0.0, double(entries.size() - 1));
    return entries[size_t(i)];
  }
  double max() const { return std::ldexp(1.0, bits) - 1; }
};

std::optional<Lut> lut_of(const DicomFile& file, DicomTag sequence, bool signed_input) {
  const DicomDataSet* item = file.first_item(file.set, sequence);
  if (item == nullptr || !item->find(kLutDescriptor) || !item->find(kLutData)) return std::nullopt;
  const std::vector<uint16_t> descriptor = file.words(*item, kLutDescriptor);
  RG_CHECK(descriptor.size() == 3, file.name, ": ", sequence.describe(), " ", kLutDescriptor.describe(), " has ",
           descriptor.size(), " values (expected 3)");
  Lut lut;
  const size_t count = descriptor[0] == 0 ? 65536 : descriptor[0];
  lut.first = signed_input ? double(int16_t(descriptor[1])) : double(descriptor[1]);
  lut.bits = descriptor[2];
  RG_CHECK(lut.bits >= 8 && lut.bits <= 16, file.name, ": ", sequence.describe(), " ", kLutDescriptor.describe(),
           " gives ", lut.bits, " bits per entry (expected 8 to 16)");
  lut.entries = file.words(*item, kLutData);
  RG_CHECK(lut.entries.size() == count, file.name, ": ", sequence.describe(), " ", kLutData.describe(), " has ",
           lut.entries.size(), " 16-bit entries, its descriptor says ", count);
  return lut;
}

// The first frame's stored values: each word's `stored` bits ending at `high`, sign-extended.
std::vector<int64_t> stored_values(const std::vector<char>& words, size_t count, const Bits& bits) {
  std::vector<int64_t> values(count);
  const int shift = bits.high + 1 - bits.stored;
  const uint64_t mask = (uint64_t(1) << bits.stored) - 1, sign = uint64_t(1) << (bits.stored - 1);
  for (size_t i = 0; i < count; ++i) {
    uint32_t word = 0;  // little-endian hosts: the low bytes of `word`
    std::memcpy(&word, &words[i * (bits.allocated / 8)], bits.allocated / 8);
    const uint64_t v = (word >> shift) & mask;
    values[i] = bits.is_signed && (v & sign) ? int64_t(v) - int64_t(mask + 1) : int64_t(v);
  }
  return values;
}

// Stored value -> the modality's units, and the range those units span.
struct Modality {
  std::optional<Lut> lut;
  double slope = 1, intercept = 0;
  double operator()(double v) const { return lut ? (*lut)(v) : v * slope + intercept; }
};

Modality modality_of(const DicomFile& file, const Bits& bits) {
  Modality m;
  m.lut = lut_of(file, kModalityLutSequence, bits.is_signed);
  const std::optional<double> slope = file.decimal(file.set, kRescaleSlope),
                              intercept = file.decimal(file.set, kRescaleIntercept);
  if (!m.lut && slope && intercept) {
    RG_CHECK(*slope != 0, file.name, ": ", kRescaleSlope.describe(), " is 0");
    m.slope = *slope;
    m.intercept = *intercept;
  }
  return m;
}

// The VOI step as pydicom's apply_voi_lut: the LUT when there is one, else the first window, else
// nothing (then the whole modality range is shown). `lo`..`hi` is the modality output's range;
// the window maps into it, the LUT into 0..2^bits-1. Returns the value as a fraction 0..1.
struct Voi {
  std::optional<Lut> lut;
  std::optional<double> center, width;
  std::string function = "LINEAR";
  double lo = 0, hi = 1;

  double operator()(double v) const {
    if (lut) return (*lut)(v) / lut->max();
    if (!center) return (v - lo) / (hi - lo);
    double c = *center, w = *width;
    if (function == "SIGMOID") return 1 / (1 + std::exp(-4 * (v - c) / w));
    if (function == "LINEAR") c -= 0.5, w -= 1;
    if (v <= c - w / 2) return 0;
    if (v > c + w / 2) return 1;
    return (v - c) / w + 0.5;
  }
};

Voi voi_of(const DicomFile& file, const Bits& bits, const Modality& modality) {
  Voi voi;
  voi.lut = lut_of(file, kVoiLutSequence, bits.is_signed);
  if (modality.lut) {
    voi.lo = 0, voi.hi = modality.lut->max();
  } else {
    voi.lo = modality(bits.min()), voi.hi = modality(bits.max());
  }
  if (voi.lut || !file.text(file.set, kWindowCenter) || !file.text(file.set, kWindowWidth)) return voi;
  voi.center = file.decimal(file.set, kWindowCenter);
  voi.width = file.decimal(file.set, kWindowWidth);
  voi.function = file.text(file.set, kVoiFunction).value_or("LINEAR");
  std::transform(voi.function.begin(), voi.function.end(), voi.function.begin(), ::toupper);
  RG_CHECK(voi.function == "LINEAR" || voi.function == "LINEAR_EXACT" || voi.function == "SIGMOID", file.name, ": ",
           kVoiFunction.describe(), " is \"", voi.function, "\" (expected LINEAR, LINEAR_EXACT or SIGMOID)");
  const double least = voi.function == "LINEAR" ? 1 : 0;
  RG_CHECK(*voi.width > least || (least == 1 && *voi.width == 1), file.name, ": ", kWindowWidth.describe(), " is ",
           *voi.width, (least == 1 ? " (expected at least 1 for LINEAR)" : " (expected more than 0)"));
  return voi;
}

// Pixels that are padding, not patient: Pixel Padding Value up to Pixel Padding Range Limit.
struct Padding {
  std::optional<int64_t> from, to;
  bool operator()(int64_t v) const { return from && v >= std::min(*from, *to) && v <= std::max(*from, *to); }
};

Padding padding_of(const DicomFile& file, const Bits& bits) {
  Padding padding;
  padding.from = file.word(file.set, kPaddingValue, bits.is_signed);
  padding.to = file.word(file.set, kPaddingLimit, bits.is_signed).value_or(padding.from.value_or(0));
  return padding;
}

// The image's size, checked against the decoders' pixel limit before any pixel is decoded.
Geometry geometry_of(const DicomFile& file) {
  const std::string photometric = file.text(file.set, kPhotometric).value_or("missing");
  const int64_t samples = file.word(file.set, kSamplesPerPixel, false).value_or(1);
  RG_CHECK((photometric == "MONOCHROME1" || photometric == "MONOCHROME2") && samples == 1, file.name, ": ",
           kPhotometric.describe(), " is ", photometric, " with ", samples,
           " samples per pixel: not a gray radiograph (roentgen reads MONOCHROME1 and MONOCHROME2)");
  Geometry g;
  g.monochrome1 = photometric == "MONOCHROME1";
  g.rows = uint64_t(file.word(file.set, kRows, false).value_or(0));
  g.columns = uint64_t(file.word(file.set, kColumns, false).value_or(0));
  if (const std::optional<std::string> frames = file.text(file.set, kFrames)) {
    char* end = nullptr;
    const long long n = std::strtoll(frames->c_str(), &end, 10);
    RG_CHECK(end != frames->c_str() && n >= 1, file.name, ": ", kFrames.describe(), " is \"", *frames,
             "\" (expected a positive integer)");
    g.frames = uint64_t(n);
  }
  RG_CHECK(g.rows > 0 && g.columns > 0, file.name, ": ", kRows.describe(), " x ", kColumns.describe(),
           " declare an empty image (", g.rows, "x", g.columns, ")");
  const uint64_t limit = image_limits().max_pixels, declared = g.rows * g.columns;
  RG_CHECK(declared <= limit && g.frames <= limit / declared, file.name, ": ", kRows.describe(), " x ",
           kColumns.describe(), " x ", kFrames.describe(), " declare ", g.rows, "x", g.columns, "x", g.frames,
           " pixels, more than the limit of ", limit, " (raise it with --max-image-pixels)");
  return g;
}

void say_first_frame_once(const std::string& file, uint64_t frames) {
  static std::atomic<bool> said{false};
  if (!said.exchange(true))
    std::cerr << "note: " << file << " has " << frames << " frames (" << kFrames.describe()
              << "); roentgen uses the first frame of multi-frame DICOMs (said once)\n";
}

}  // namespace

GrayImage decode_dicom(const std::string& bytes, const std::string& name) {
  const DicomFile file = parse_dicom(bytes, name);
  const DicomElement* pixels = file.set.find(kPixelData);
  RG_CHECK(pixels != nullptr, name, ": no ", kPixelData.describe(),
           ": a DICOM without an image (a report, or a secondary capture without pixels)");
  const Geometry g = geometry_of(file);
  const Bits bits = bits_of(file, pixels->encapsulated);
  const std::vector<char> words = first_frame_words(file, *pixels, g, bits);
  if (g.frames > 1) say_first_frame_once(name, g.frames);

  const Modality modality = modality_of(file, bits);
  const Voi voi = voi_of(file, bits, modality);
  const Padding padding = padding_of(file, bits);
  const std::vector<int64_t> stored = stored_values(words, g.pixels(), bits);
  GrayImage out(int(g.columns), int(g.rows));
  for (size_t i = 0; i < stored.size(); ++i) {
    if (padding(stored[i])) continue;  // black
    const double shown = std::clamp(voi(modality(double(stored[i]))), 0.0, 1.0);
    out.pixels[i] = float(255 * (g.monochrome1 ? 1 - shown : shown));
  }
  return out;
}

std::string encode_dicom(const GrayImage& image, DicomLayout layout, const std::string& patient_id, uint64_t uid) {
  RG_CHECK(image.width > 0 && image.height > 0 && image.width <= 65535 && image.height <= 65535,
           "encode_dicom: a DICOM image has 1 to 65535 rows and columns, not ", image.width, "x", image.height);
  const bool inverted = layout == DicomLayout::kInverted16, is_signed = layout == DicomLayout::kSigned16Rescaled;
  const int bits = layout == DicomLayout::kWindowed12 ? 12 : 16;
  std::string pixels(image.pixels.size() * 2, '\0');
  for (size_t i = 0; i < image.pixels.size(); ++i) {
    const long g = std::clamp(std::lround(image.pixels[i]), 0l, 255l);
    const long value = layout == DicomLayout::kWindowed12 ? 16 * g : inverted ? 257 * (255 - g) : 257 * g - 32768;
    const uint16_t word = uint16_t(value);  // two's complement when signed
    pixels[2 * i] = char(word & 0xFF);
    pixels[2 * i + 1] = char(word >> 8);
  }
  std::vector<DicomValue> elements = {
      dicom_text({0x0008, 0x0016, "SOP Class UID"}, "UI", "1.2.840.10008.5.1.4.1.1.1.1"),  // Digital X-Ray
      dicom_text({0x0008, 0x0018, "SOP Instance UID"}, "UI", "2.25." + std::to_string(uid)),
      dicom_text({0x0008, 0x0060, "Modality"}, "CS", "DX"),
      dicom_text({0x0010, 0x0020, "Patient ID"}, "LO", patient_id),
      dicom_text({0x0018, 0x5101, "View Position"}, "CS", "PA"),
      dicom_word(kSamplesPerPixel, 1),
      dicom_text(kPhotometric, "CS", inverted ? "MONOCHROME1" : "MONOCHROME2"),
      dicom_word(kRows, uint16_t(image.height)),
      dicom_word(kColumns, uint16_t(image.width)),
      dicom_word(kBitsAllocated, 16),
      dicom_word(kBitsStored, uint16_t(bits)),
      dicom_word(kHighBit, uint16_t(bits - 1)),
      dicom_word(kPixelRepresentation, is_signed ? 1 : 0),
      {kPixelData, "OW", pixels}};
  if (layout == DicomLayout::kWindowed12) {
    elements.push_back(dicom_text(kWindowCenter, "DS", "2040.5"));  // LINEAR: 0 -> 0, 16 * 255 -> 1
    elements.push_back(dicom_text(kWindowWidth, "DS", "4081"));
  }
  if (is_signed) {
    elements.push_back(dicom_text(kRescaleIntercept, "DS", "32768"));
    elements.push_back(dicom_text(kRescaleSlope, "DS", "1"));
  }
  return write_dicom(std::move(elements));
}

}  // namespace rg::data
