#include "data/dicom_file.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cctype>
#include <cstring>

#include "tensor/error.h"

namespace rg::data {

namespace {

constexpr uint32_t kItem = 0xFFFEE000, kItemEnd = 0xFFFEE00D, kSequenceEnd = 0xFFFEE0DD;
constexpr uint32_t kUndefinedLength = 0xFFFFFFFF;
constexpr uint32_t kPixelDataKey = 0x7FE00010;
// Sequences parsed into items even when Implicit VR hides their VR: the two that hold LUTs.
constexpr uint32_t kModalityLutSequenceKey = 0x00283000, kVoiLutSequenceKey = 0x00283010;

std::string hex(uint32_t key) {
  char code[16];
  std::snprintf(code, sizeof code, "(%04X,%04X)", key >> 16, key & 0xFFFF);
  return code;
}

// VRs whose length takes 4 bytes after 2 reserved ones in Explicit VR (PS3.5 7.1.2).
bool long_vr(std::string_view vr) {
  for (const char* v : {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
    if (vr == v) return true;
  return false;
}

}  // namespace

bool is_dicom(const std::string& first_bytes) {
  return first_bytes.size() >= 132 && first_bytes.compare(128, 4, "DICM") == 0;
}

namespace {

class Parser {
 public:
  Parser(const std::string& bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  DicomFile parse() {
    RG_CHECK(is_dicom(bytes_), name_, ": not a DICOM file (no \"DICM\" after the 128-byte preamble)");
    DicomFile file;
    file.name = name_;
    pos_ = 132;
    DicomDataSet meta;  // group 0002, always Explicit VR Little Endian
    while (pos_ + 2 <= bytes_.size() && u16(pos_) == 0x0002) meta.elements.push_back(element(bytes_.size(), 0));
    const DicomTag syntax{0x0002, 0x0010, "Transfer Syntax UID"};
    file.transfer_syntax = file.text(meta, syntax).value_or("");
    RG_CHECK(!file.transfer_syntax.empty(), name_, ": no ", syntax.describe(), " in the file meta information");
    RG_CHECK(file.transfer_syntax != "1.2.840.10008.1.2.1.99", name_,
             ": Deflated Explicit VR Little Endian is not supported (decompress the file first, e.g. gdcmconv --raw)");
    explicit_vr_ = file.transfer_syntax != "1.2.840.10008.1.2";
    big_endian_ = file.transfer_syntax == "1.2.840.10008.1.2.2";
    file.big_endian = big_endian_;
    file.set = data_set(bytes_.size(), 0, false);
    return file;
  }

 private:
  uint16_t u16(size_t at) const {
    const auto b = [&](size_t i) { return uint16_t(uint8_t(bytes_[at + i])); };
    return big_endian_ ? uint16_t(b(0) << 8 | b(1)) : uint16_t(b(1) << 8 | b(0));
  }
  uint32_t u32(size_t at) const {
    return big_endian_ ? uint32_t(u16(at)) << 16 | u16(at + 2) : uint32_t(u16(at + 2)) << 16 | u16(at);
  }
  uint32_t tag_at(size_t at) const { return uint32_t(u16(at)) << 16 | u16(at + 2); }

  void need(size_t count, size_t end, const char* what) const {
    RG_CHECK(pos_ <= end && count <= end - pos_, name_, ": truncated DICOM: ", what, " at byte ", pos_, " needs ",
             count, " bytes, ", end - std::min(pos_, end), " are left");
  }

  // Elements up to `end` (a defined length, or the file's end) or, for an item of undefined
  // length, up to its Item Delimitation.
  DicomDataSet data_set(size_t end, int depth, bool until_item_end) {
    DicomDataSet set;
    while (pos_ < end) {
      need(8, end, "an element's tag and length");
      if (until_item_end && tag_at(pos_) == kItemEnd) {
        pos_ += 8;
        return set;
      }
      set.elements.push_back(element(end, depth));
    }
    RG_CHECK(!until_item_end, name_,
             ": truncated DICOM: an item of undefined length ends without its Item Delimitation");
    return set;
  }

  DicomElement element(size_t end, int depth) {
    const size_t at = pos_;
    need(8, end, "an element's tag and length");
    DicomElement e;
    e.key = tag_at(pos_);
    RG_CHECK(e.key >> 16 != 0xFFFE, name_, ": corrupt DICOM: the item tag ", hex(e.key), " at byte ", at,
             " outside a sequence");
    std::string_view vr;
    uint32_t length = 0;
    if (explicit_vr_) {
      vr = std::string_view(bytes_).substr(pos_ + 4, 2);
      RG_CHECK(std::isupper(uint8_t(vr[0])) && std::isupper(uint8_t(vr[1])), name_, ": corrupt DICOM: ", hex(e.key),
               " at byte ", at, " has no VR (expected two capital letters in Explicit VR)");
      if (long_vr(vr)) {
        need(12, end, "an element's tag and length");
        length = u32(pos_ + 8);
        pos_ += 12;
      } else {
        length = u16(pos_ + 6);
        pos_ += 8;
      }
    } else {
      length = u32(pos_ + 4);
      pos_ += 8;
    }
    if (length == kUndefinedLength) {
      e.encapsulated = e.key == kPixelDataKey;
      if (e.encapsulated)
        e.fragments = fragments(end);
      else
        e.items = sequence(end, depth, kUndefinedLength);
      return e;
    }
    RG_CHECK(length <= end - pos_, name_, ": truncated DICOM: ", hex(e.key), " at byte ", at, " declares ", length,
             " bytes, ", end - pos_, " are left");
    const size_t value_end = pos_ + length;
    if (vr == "SQ" || e.key == kModalityLutSequenceKey || e.key == kVoiLutSequenceKey)
      e.items = sequence(value_end, depth, length);
    else
      e.value = std::string_view(bytes_).substr(pos_, length);
    pos_ = value_end;
    return e;
  }

  // A sequence's items, up to `end` (a defined length) or its Sequence Delimitation.
  std::vector<DicomDataSet> sequence(size_t end, int depth, uint32_t length) {
    RG_CHECK(depth < kMaxDepth, name_, ": corrupt DICOM: sequences nested deeper than ", kMaxDepth, " at byte ", pos_);
    std::vector<DicomDataSet> items;
    while (length == kUndefinedLength || pos_ < end) {
      need(8, end, "a sequence's item");
      const uint32_t key = tag_at(pos_), item_length = u32(pos_ + 4);
      const size_t at = pos_;
      pos_ += 8;
      if (key == kSequenceEnd && length == kUndefinedLength) break;
      RG_CHECK(key == kItem, name_, ": corrupt DICOM: ", hex(key), " at byte ", at,
               " where a sequence's item was expected");
      if (item_length == kUndefinedLength) {
        items.push_back(data_set(end, depth + 1, true));
        continue;
      }
      RG_CHECK(item_length <= end - pos_, name_, ": truncated DICOM: the item at byte ", at, " declares ", item_length,
               " bytes, ", end - pos_, " are left");
      items.push_back(data_set(pos_ + item_length, depth + 1, false));
    }
    return items;
  }

  // Encapsulated Pixel Data: items of defined length (the Basic Offset Table, then the
  // compressed fragments) up to the Sequence Delimitation.
  std::vector<std::string_view> fragments(size_t end) {
    std::vector<std::string_view> out;
    for (;;) {
      need(8, end, "a pixel data fragment");
      const uint32_t key = tag_at(pos_), length = u32(pos_ + 4);
      const size_t at = pos_;
      pos_ += 8;
      if (key == kSequenceEnd) return out;
      RG_CHECK(key == kItem, name_, ": corrupt DICOM: ", hex(key), " at byte ", at,
               " where a pixel data fragment was expected");
      RG_CHECK(length <= end - pos_, name_, ": truncated DICOM: the pixel data fragment at byte ", at, " declares ",
               length, " bytes, ", end - pos_, " are left");
      out.push_back(std::string_view(bytes_).substr(pos_, length));
      pos_ += length;
    }
  }

  const std::string& bytes_;
  const std::string& name_;
  size_t pos_ = 0;
  bool explicit_vr_ = true, big_endian_ = false;
};

}  // namespace

std::string DicomTag::describe() const { return hex(key()) + " " + name; }

const DicomElement* DicomDataSet::find(DicomTag tag) const {
  for (const DicomElement& e : elements)
    if (e.key == tag.key()) return &e;
  return nullptr;
}

std::optional<std::string> DicomFile::text(const DicomDataSet& in, DicomTag tag) const {
  const DicomElement* e = in.find(tag);
  if (e == nullptr) return std::nullopt;
  std::string s(e->value);
  const auto keep = [](char c) { return c != ' ' && c != '\0'; };
  s.erase(std::find_if(s.rbegin(), s.rend(), keep).base(), s.end());
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), keep));
  if (s.empty()) return std::nullopt;
  return s;
}

std::optional<double> DicomFile::decimal(const DicomDataSet& in, DicomTag tag) const {
  const std::optional<std::string> s = text(in, tag);
  if (!s) return std::nullopt;
  const std::string first = s->substr(0, s->find('\\'));
  char* end = nullptr;
  const double v = std::strtod(first.c_str(), &end);
  RG_CHECK(end != first.c_str() && std::isfinite(v), name, ": ", tag.describe(), " is \"", *s, "\", not a number");
  return v;
}

std::vector<uint16_t> DicomFile::words(const DicomDataSet& in, DicomTag tag) const {
  const DicomElement* e = in.find(tag);
  if (e == nullptr) return {};
  std::vector<uint16_t> out(e->value.size() / 2);
  if (!out.empty()) std::memcpy(out.data(), e->value.data(), out.size() * 2);
  if (big_endian)
    for (uint16_t& w : out) w = uint16_t(w >> 8 | w << 8);
  return out;
}

std::optional<int64_t> DicomFile::word(const DicomDataSet& in, DicomTag tag, bool is_signed) const {
  const std::vector<uint16_t> w = words(in, tag);
  if (w.empty()) return std::nullopt;
  return is_signed ? int64_t(int16_t(w[0])) : int64_t(w[0]);
}

const DicomDataSet* DicomFile::first_item(const DicomDataSet& in, DicomTag tag) const {
  const DicomElement* e = in.find(tag);
  return e == nullptr || e->items.empty() ? nullptr : &e->items.front();
}

DicomFile parse_dicom(const std::string& bytes, const std::string& name) { return Parser(bytes, name).parse(); }

DicomValue dicom_text(DicomTag tag, const std::string& vr, const std::string& text) {
  DicomValue v{tag, vr, text};
  if (v.bytes.size() % 2 == 1) v.bytes += vr == "UI" ? '\0' : ' ';
  return v;
}

DicomValue dicom_word(DicomTag tag, uint16_t value) {
  return {tag, "US", std::string{char(value & 0xFF), char(value >> 8)}};
}

namespace {
void append_le(std::string& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += char(v >> (8 * i) & 0xFF);
}
void append_element(std::string& out, const DicomValue& v) {
  RG_CHECK(v.bytes.size() % 2 == 0 && v.bytes.size() < kUndefinedLength, "write_dicom: ", v.tag.describe(),
           " has an odd or oversized value of ", v.bytes.size(), " bytes");
  append_le(out, v.tag.group, 2);
  append_le(out, v.tag.element, 2);
  out += v.vr;
  if (long_vr(v.vr)) {
    append_le(out, 0, 2);
    append_le(out, uint32_t(v.bytes.size()), 4);
  } else {
    RG_CHECK(v.bytes.size() <= 0xFFFF, "write_dicom: ", v.tag.describe(), " is too long for VR ", v.vr);
    append_le(out, uint32_t(v.bytes.size()), 2);
  }
  out += v.bytes;
}
}  // namespace

std::string write_dicom(std::vector<DicomValue> elements) {
  std::sort(elements.begin(), elements.end(),
            [](const DicomValue& a, const DicomValue& b) { return a.tag.key() < b.tag.key(); });
  const auto text_of = [&](uint32_t key) {
    for (const DicomValue& v : elements)
      if (v.tag.key() == key) return v.bytes;
    throw Error("write_dicom: the data set needs " + hex(key) + " (the SOP class and instance UIDs)");
  };
  std::string meta;
  append_element(meta, {{0x0002, 0x0001, "File Meta Information Version"}, "OB", std::string("\0\1", 2)});
  append_element(meta, {{0x0002, 0x0002, "Media Storage SOP Class UID"}, "UI", text_of(0x00080016)});
  append_element(meta, {{0x0002, 0x0003, "Media Storage SOP Instance UID"}, "UI", text_of(0x00080018)});
  append_element(meta, dicom_text({0x0002, 0x0010, "Transfer Syntax UID"}, "UI", "1.2.840.10008.1.2.1"));
  std::string out(128, '\0');
  out += "DICM";
  std::string length;
  append_le(length, uint32_t(meta.size()), 4);
  append_element(out, {{0x0002, 0x0000, "File Meta Information Group Length"}, "UL", length});
  out += meta;
  for (const DicomValue& v : elements) append_element(out, v);
  return out;
}

}  // namespace rg::data
