#include "data/dicom.h"

#include <gdcmImage.h>
#include <gdcmSequenceOfFragments.h>
#include <gdcmTrace.h>
#include <gdcmUIDs.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <iostream>
#include <optional>
#include <vector>

#include "data/dicom_file.h"
#include "tensor/error.h"

namespace rg::data {

bool is_dicom(const std::string& first_bytes) {
  return first_bytes.size() >= 132 && first_bytes.compare(128, 4, "DICM") == 0;
}

namespace {

const DicomTag kSamplesPerPixel{0x0028, 0x0002, "Samples per Pixel"};
const DicomTag kPhotometric{0x0028, 0x0004, "Photometric Interpretation"};
const DicomTag kFrames{0x0028, 0x0008, "Number of Frames"};
const DicomTag kRows{0x0028, 0x0010, "Rows"};
const DicomTag kColumns{0x0028, 0x0011, "Columns"};
const DicomTag kBitsAllocated{0x0028, 0x0100, "Bits Allocated"};
const DicomTag kBitsStored{0x0028, 0x0101, "Bits Stored"};
const DicomTag kHighBit{0x0028, 0x0102, "High Bit"};
const DicomTag kPixelRepresentation{0x0028, 0x0103, "Pixel Representation"};
const DicomTag kPaddingValue{0x0028, 0x0120, "Pixel Padding Value"};
const DicomTag kPaddingLimit{0x0028, 0x0121, "Pixel Padding Range Limit"};
const DicomTag kWindowCenter{0x0028, 0x1050, "Window Center"};
const DicomTag kWindowWidth{0x0028, 0x1051, "Window Width"};
const DicomTag kRescaleIntercept{0x0028, 0x1052, "Rescale Intercept"};
const DicomTag kRescaleSlope{0x0028, 0x1053, "Rescale Slope"};
const DicomTag kVoiFunction{0x0028, 0x1056, "VOI LUT Function"};
const DicomTag kModalityLutSequence{0x0028, 0x3000, "Modality LUT Sequence"};
const DicomTag kLutDescriptor{0x0028, 0x3002, "LUT Descriptor"};
const DicomTag kLutData{0x0028, 0x3006, "LUT Data"};
const DicomTag kVoiLutSequence{0x0028, 0x3010, "VOI LUT Sequence"};
const DicomTag kPixelData{0x7FE0, 0x0010, "Pixel Data"};

// How the stored bits sit in each word of the pixel data.
struct Bits {
  int allocated = 16, stored = 16, high = 15;
  bool is_signed = false;
  double min() const { return is_signed ? -std::ldexp(1.0, stored - 1) : 0.0; }
  double max() const { return is_signed ? std::ldexp(1.0, stored - 1) - 1 : std::ldexp(1.0, stored) - 1; }
};

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
struct Geometry {
  uint64_t rows = 0, columns = 0, frames = 1;
  bool monochrome1 = false;
  size_t pixels() const { return size_t(rows * columns); }
};

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

// The first frame of native (uncompressed) pixel data, as the file stores it, in this machine's
// (little-endian) byte order.
std::vector<char> stored_first_frame(const DicomFile& file, const DicomElement& pixels, size_t bytes,
                                     const Bits& bits) {
  RG_CHECK(pixels.value.size() >= bytes, file.name, ": ", kPixelData.describe(), " holds ", pixels.value.size(),
           " bytes, fewer than the first frame's ", bytes);
  std::vector<char> words(pixels.value.begin(), pixels.value.begin() + std::ptrdiff_t(bytes));
  if (file.big_endian)
    for (size_t i = 0; i < bytes; i += bits.allocated / 8) std::reverse(&words[i], &words[i] + bits.allocated / 8);
  return words;
}

// The first frame's compressed bytes: the fragments before the second frame's offset in the
// Basic Offset Table (the first item); without one, all fragments of a one-frame image, or the
// first when each frame is one fragment.
std::string first_frame_fragments(const DicomFile& file, const DicomElement& pixels, uint64_t frames) {
  const std::vector<std::string_view>& items = pixels.fragments;
  RG_CHECK(items.size() >= 2, file.name, ": ", kPixelData.describe(), " is encapsulated but holds no fragment");
  std::vector<uint32_t> offsets(items[0].size() / 4);
  if (!offsets.empty()) std::memcpy(offsets.data(), items[0].data(), offsets.size() * 4);  // always little-endian
  const size_t fragments = items.size() - 1;
  size_t take = fragments;
  if (frames > 1 && offsets.size() >= 2) {
    take = 0;
    for (uint64_t at = 0; take < fragments && at < offsets[1]; ++take) at += 8 + items[1 + take].size();
  } else if (frames > 1) {
    RG_CHECK(fragments == frames, file.name, ": ", kPixelData.describe(), " has ", fragments, " fragments for ", frames,
             " frames and no Basic Offset Table: cannot tell which hold the first frame");
    take = 1;
  }
  std::string frame;
  for (size_t i = 1; i <= take; ++i) frame.append(items[i]);
  return frame;
}

using Syntax = gdcm::TransferSyntax;
bool is_jpeg2000(Syntax::TSType ts) {
  return ts == Syntax::JPEG2000Lossless || ts == Syntax::JPEG2000 || ts == Syntax::JPEG2000Part2Lossless ||
         ts == Syntax::JPEG2000Part2;
}
bool is_jpeg(Syntax::TSType ts) {
  return ts == Syntax::JPEGBaselineProcess1 || ts == Syntax::JPEGExtendedProcess2_4 ||
         ts == Syntax::JPEGLosslessProcess14 || ts == Syntax::JPEGLosslessProcess14_1;
}
bool is_jpeg_ls(Syntax::TSType ts) { return ts == Syntax::JPEGLSLossless || ts == Syntax::JPEGLSNearLossless; }
// The still-image compressions in use (not the retired JPEG processes, video, JPIP or private
// syntaxes).
bool is_image_codec(Syntax::TSType ts) { return is_jpeg(ts) || is_jpeg_ls(ts) || ts == Syntax::RLELossless; }

// After the one scan a gray frame has, the next marker must end the image: GDCM's libjpeg loops
// forever reading a second scan (found by the DICOM fuzzer). In the entropy-coded data a 0xFF is
// followed by a stuffed 0x00 or a restart marker 0xD0-0xD7 (JPEG), or by a byte below 0x80
// (JPEG-LS's bit stuffing); anything else after it is a marker.
void check_one_scan(const std::string& stream, size_t data, bool jpeg_ls, const std::string& where) {
  for (size_t at = data; at + 1 < stream.size(); ++at) {
    if (uint8_t(stream[at]) != 0xFF) continue;
    const uint8_t next = uint8_t(stream[at + 1]);
    const bool in_data = jpeg_ls ? next < 0x80 : (next == 0x00 || (next >= 0xD0 && next <= 0xD7) || next == 0xFF);
    if (in_data) continue;
    RG_CHECK(next == 0xD9, where, "a marker 0xFF", std::hex, int(next), std::dec, " at byte ", at,
             " after the scan (expected the end of the image: one scan per gray frame)");
    return;
  }
  throw Error(where + "the stream ends inside its scan (no end-of-image marker)");
}

// A JPEG or JPEG-LS stream's segments up to its first scan and the marker after it, checked before
// GDCM's decoders read them, since GDCM asserts, aborting the process, where they disagree with the data set (found by
// the DICOM fuzzer): when libjpeg warns while reading a header, or CharLS decodes more bytes than
// the frame holds. So the segments must follow each other exactly (libjpeg warns of bytes between
// them), a JFIF segment must be version 1, and the frame header (JPEG: SOF0, SOF1 or SOF3, that is
// baseline, extended or lossless; JPEG-LS: SOF55) must declare one gray component of the data
// set's size, in as many bytes per sample as Bits Allocated gives.
void check_jpeg_header(const std::string& stream, bool jpeg_ls, const Geometry& g, const Bits& bits,
                       const std::string& file) {
  const auto byte = [&](size_t at) { return uint32_t(uint8_t(stream[at])); };
  const auto u16 = [&](size_t at) { return byte(at) << 8 | byte(at + 1); };
  const std::string where =
      file + ": corrupt " + (jpeg_ls ? "JPEG-LS" : "JPEG") + " in " + kPixelData.describe() + ": ";
  RG_CHECK(stream.size() >= 2 && u16(0) == 0xFFD8, where, "no start-of-image marker");
  bool frame = false;
  for (size_t at = 2;;) {
    while (at + 1 < stream.size() && byte(at) == 0xFF && byte(at + 1) == 0xFF) ++at;  // fill bytes
    RG_CHECK(at + 4 <= stream.size(), where, "the stream ends before its first scan");
    const uint32_t marker = u16(at), length = u16(at + 2);
    RG_CHECK(marker >> 8 == 0xFF && length >= 2 && at + 2 + length <= stream.size(), where, "no valid segment at byte ",
             at);
    const size_t body = at + 4, size = length - 2;
    if (marker == 0xFFDA) {
      RG_CHECK(frame, where, "a scan before the frame header");
      check_one_scan(stream, at + 2 + length, jpeg_ls, where);
      return;
    }
    const bool is_frame = jpeg_ls ? marker == 0xFFF7 : (marker == 0xFFC0 || marker == 0xFFC1 || marker == 0xFFC3);
    const bool is_other = marker == 0xFFC4 || marker == 0xFFDB || marker == 0xFFDD || marker == 0xFFFE ||
                          (marker >= 0xFFE0 && marker <= 0xFFEF) || (jpeg_ls && marker == 0xFFF8);
    RG_CHECK(is_frame || is_other, where, "unexpected marker 0xFF", std::hex, marker & 0xFF, std::dec, " at byte ", at);
    if (marker == 0xFFE0 && size >= 6 && stream.compare(body, 5, std::string("JFIF\0", 5)) == 0)
      RG_CHECK(byte(body + 5) == 1, where, "JFIF version ", byte(body + 5), " (expected 1)");
    if (!is_frame) {
      at += 2 + length;
      continue;
    }
    RG_CHECK(size >= 9, where, "a frame header of ", size, " bytes");
    const uint32_t precision = byte(body), rows = u16(body + 1), columns = u16(body + 3), components = byte(body + 5);
    RG_CHECK(rows == g.rows && columns == g.columns && components == 1, where, "the frame header declares ", columns,
             "x", rows, " pixels in ", components, " components, the data set one gray ", g.columns, "x", g.rows);
    RG_CHECK(precision >= 2 && precision <= 16 && (precision <= 8) == (bits.allocated == 8), where, "the frame header ",
             "declares ", precision, "-bit samples, the data set ", kBitsAllocated.describe(), " ", bits.allocated);
    frame = true;
    at += 2 + length;
  }
}

// RLE Lossless (PS3.5 annex G), decoded here: GDCM's RLE decoder reads past its input on a
// malformed header (found by the DICOM fuzzer). A 64-byte header gives the number of segments —
// one per byte of a sample, the most significant first — and where each starts; each segment is
// PackBits: a count n, then n + 1 literal bytes (n = 0..127) or one byte repeated 1 - n times
// (n = -127..-1; -128 is nothing), until the frame's bytes are complete.
std::vector<char> decode_rle(const std::string& frame, const Geometry& g, const Bits& bits, const std::string& file) {
  const auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | uint8_t(frame[at + size_t(i)]);
    return v;
  };
  const std::string where = file + ": corrupt RLE in " + kPixelData.describe() + ": ";
  const size_t sample_bytes = size_t(bits.allocated / 8), pixels = g.pixels();
  RG_CHECK(frame.size() >= 64 && u32(0) == sample_bytes, where, "the header declares ", frame.size() >= 64 ? u32(0) : 0,
           " segments, ", kBitsAllocated.describe(), " ", bits.allocated, " needs ", sample_bytes);
  std::vector<char> words(pixels * sample_bytes);
  for (size_t segment = 0; segment < sample_bytes; ++segment) {
    size_t in = u32(4 + 4 * segment);
    const size_t end = segment + 1 < sample_bytes ? std::min<size_t>(u32(8 + 4 * segment), frame.size()) : frame.size();
    const size_t byte_in_word = sample_bytes - 1 - segment;  // little-endian words, most significant segment first
    RG_CHECK(in >= 64 && in <= end, where, "segment ", segment + 1, " starts at byte ", in, " of ", frame.size());
    for (size_t out = 0; out < pixels;) {
      RG_CHECK(in < end, where, "segment ", segment + 1, " ends after ", out, " of its ", pixels, " bytes");
      const int n = int8_t(frame[in++]);
      if (n == -128) continue;
      const size_t count = n >= 0 ? size_t(n) + 1 : size_t(1 - n);
      RG_CHECK(out + count <= pixels && in + (n >= 0 ? count : 1) <= end, where, "segment ", segment + 1,
               " runs past its end");
      for (size_t k = 0; k < count; ++k) words[(out + k) * sample_bytes + byte_in_word] = frame[n >= 0 ? in + k : in];
      in += n >= 0 ? count : 1;
      out += count;
    }
  }
  return words;
}

// GDCM's own messages go nowhere: every failure it reports comes back as a return value, and
// becomes an rg::Error naming the file.
void silence_gdcm() {
  static const bool silenced = [] {
    gdcm::Trace::SetDebug(false);
    gdcm::Trace::SetWarning(false);
    gdcm::Trace::SetError(false);
    return true;
  }();
  (void)silenced;
}

// The first frame of JPEG or JPEG-LS data (its header checked), decoded by GDCM's codec
// for the transfer syntax, handed to it as an image of one frame in one fragment.
std::vector<char> decode_with_gdcm(const std::string& frame, Syntax::TSType syntax, const Geometry& g, const Bits& bits,
                                   const std::string& file) {
  silence_gdcm();
  if (is_jpeg(syntax) || is_jpeg_ls(syntax)) check_jpeg_header(frame, is_jpeg_ls(syntax), g, bits, file);
  gdcm::Image image;
  image.SetNumberOfDimensions(2);
  image.SetDimension(0, unsigned(g.columns));
  image.SetDimension(1, unsigned(g.rows));
  image.SetPixelFormat(gdcm::PixelFormat(1, uint16_t(bits.allocated), uint16_t(bits.stored), uint16_t(bits.high),
                                         bits.is_signed ? 1 : 0));
  image.SetPhotometricInterpretation(g.monochrome1 ? gdcm::PhotometricInterpretation::MONOCHROME1
                                                   : gdcm::PhotometricInterpretation::MONOCHROME2);
  image.SetTransferSyntax(syntax);
  gdcm::Fragment fragment;
  fragment.SetByteValue(frame.data(), uint32_t(frame.size()));
  gdcm::SmartPointer<gdcm::SequenceOfFragments> fragments = new gdcm::SequenceOfFragments;
  fragments->AddFragment(fragment);
  gdcm::DataElement element(gdcm::Tag(0x7FE0, 0x0010));
  element.SetVR(gdcm::VR::OB);
  element.SetValue(*fragments);
  image.SetDataElement(element);

  std::vector<char> words(g.pixels() * size_t(bits.allocated / 8));
  RG_CHECK(image.GetBufferLength() == words.size(), file, ": GDCM expects ", image.GetBufferLength(),
           " bytes for a frame of ", words.size());
  bool decoded = false;
  try {
    decoded = image.GetBuffer(words.data());
  } catch (const std::exception& e) {
    throw Error(file + ": corrupt " + kPixelData.describe() + " (GDCM: " + e.what() + ")");
  }
  RG_CHECK(decoded, file, ": corrupt or truncated DICOM: GDCM cannot decode its ", kPixelData.describe());
  return words;
}

// The first frame of compressed (encapsulated) pixel data: RLE decoded here, JPEG and JPEG-LS by
// GDCM. JPEG 2000 is refused: through GDCM, Debian's OpenJPEG 2.5.0 corrupted its heap on
// malformed streams under the DICOM fuzzer, in the SIZ marker and in code-block data, so no
// header check makes it safe for files from anywhere; gdcmconv --raw, a process of its own,
// converts trusted ones.
std::vector<char> decoded_first_frame(const DicomFile& file, const DicomElement& pixels, const Geometry& g,
                                      const Bits& bits) {
  const Syntax::TSType syntax = Syntax::GetTSType(file.transfer_syntax.c_str());
  gdcm::UIDs uid;
  uid.SetFromUID(file.transfer_syntax.c_str());
  const std::string name = uid.GetName() ? uid.GetName() : file.transfer_syntax;
  RG_CHECK(
      !is_jpeg2000(syntax), file.name, ": JPEG 2000 compressed (", name, "), which roentgen does not decode: ",
      "Debian's OpenJPEG corrupts memory on malformed JPEG 2000 streams. Decompress it first, e.g. gdcmconv --raw ",
      file.name, " out.dcm");
  RG_CHECK(is_image_codec(syntax), file.name, ": ", kPixelData.describe(), " in a transfer syntax roentgen does not ",
           "decode (", name, "; it decodes RLE, JPEG and JPEG-LS)");
  const std::string frame = first_frame_fragments(file, pixels, g.frames);
  if (syntax == Syntax::RLELossless) return decode_rle(frame, g, bits, file.name);
  return decode_with_gdcm(frame, syntax, g, bits, file.name);
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
  const std::vector<char> words =
      pixels->encapsulated ? decoded_first_frame(file, *pixels, g, bits)
                           : stored_first_frame(file, *pixels, g.pixels() * size_t(bits.allocated / 8), bits);
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
