#include "data/dicom_frames.h"

#include <gdcmImage.h>
#include <gdcmSequenceOfFragments.h>
#include <gdcmTrace.h>
#include <gdcmUIDs.h>

#include <algorithm>
#include <cstring>

#include "data/jpeg2000_process.h"
#include "tensor/error.h"

namespace rg::data::dicom {

namespace {

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
bool is_image_codec(Syntax::TSType ts) {
  return is_jpeg(ts) || is_jpeg_ls(ts) || is_jpeg2000(ts) || ts == Syntax::RLELossless;
}

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
// GDCM's decoders read them: GDCM asserts, aborting the process, where they disagree with the
// data set (found by the DICOM fuzzer) — when libjpeg warns while reading a header, or CharLS
// decodes more bytes than the frame holds. So the segments must follow each other exactly (libjpeg warns of bytes between
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

}  // namespace

// Handed to GDCM as an image of one frame in one fragment.
std::vector<char> decode_with_gdcm(const std::string& frame, const std::string& syntax_uid, const Geometry& g,
                                   const Bits& bits, const std::string& file) {
  silence_gdcm();
  const Syntax::TSType syntax = Syntax::GetTSType(syntax_uid.c_str());
  RG_CHECK(is_jpeg(syntax) || is_jpeg_ls(syntax) || is_jpeg2000(syntax), file, ": not a JPEG, JPEG-LS or JPEG 2000 ",
           "transfer syntax (", syntax_uid, ")");
  if (!is_jpeg2000(syntax)) check_jpeg_header(frame, is_jpeg_ls(syntax), g, bits, file);
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

namespace {

// A lossy JPEG 2000 stream may hold more bits than Bits Stored (gdcmconv writes 12-bit data at
// precision 16), and its values then overshoot the stored range a little at edges. They are
// clamped to that range, as the codestream's decoder would at its own precision, rather than
// wrapped by the stored-bit mask (4097 in 12 bits is 1: a white edge turned black).
void clamp_to_stored_range(std::vector<char>& words, const Bits& bits) {
  const size_t size = size_t(bits.allocated / 8);
  for (size_t at = 0; at + size <= words.size(); at += size) {
    uint32_t raw = 0;
    std::memcpy(&raw, &words[at], size);  // little-endian words
    const int shift = 32 - bits.allocated;
    const int64_t value = bits.is_signed ? int64_t(int32_t(raw << shift) >> shift) : int64_t(raw);
    const int64_t clamped = std::clamp(value, int64_t(bits.min()), int64_t(bits.max()));
    if (clamped == value) continue;
    raw = uint32_t(clamped);
    std::memcpy(&words[at], &raw, size);
  }
}

// The first frame of compressed (encapsulated) pixel data: RLE decoded here, JPEG and JPEG-LS by
// GDCM, JPEG 2000 by GDCM in a process of its own (data/jpeg2000_process.h says why).
std::vector<char> decoded_first_frame(const DicomFile& file, const DicomElement& pixels, const Geometry& g,
                                      const Bits& bits) {
  const Syntax::TSType syntax = Syntax::GetTSType(file.transfer_syntax.c_str());
  gdcm::UIDs uid;
  uid.SetFromUID(file.transfer_syntax.c_str());
  const std::string name = uid.GetName() ? uid.GetName() : file.transfer_syntax;
  RG_CHECK(is_image_codec(syntax), file.name, ": ", kPixelData.describe(), " in a transfer syntax roentgen does not ",
           "decode (", name, "; it decodes RLE, JPEG, JPEG-LS and JPEG 2000)");
  const std::string frame = first_frame_fragments(file, pixels, g.frames);
  if (syntax == Syntax::RLELossless) return decode_rle(frame, g, bits, file.name);
  if (is_jpeg2000(syntax)) {
    std::vector<char> words = decode_jpeg2000_in_own_process(frame, file.transfer_syntax, g, bits, file.name);
    clamp_to_stored_range(words, bits);
    return words;
  }
  return decode_with_gdcm(frame, file.transfer_syntax, g, bits, file.name);
}

}  // namespace

std::vector<char> first_frame_words(const DicomFile& file, const DicomElement& pixels, const Geometry& g,
                                    const Bits& bits) {
  return pixels.encapsulated ? decoded_first_frame(file, pixels, g, bits)
                             : stored_first_frame(file, pixels, g.pixels() * size_t(bits.allocated / 8), bits);
}

}  // namespace rg::data::dicom
