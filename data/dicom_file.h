// A DICOM file's data set (PS3.5 chapter 7), parsed by roentgen: the 128-byte preamble and
// "DICM", the File Meta Information (group 0002, Explicit VR Little Endian) naming the transfer
// syntax, then the data set in that syntax — Implicit or Explicit VR, little or big endian —
// element by element: tag, VR (explicit only), length, value; sequences of items with defined or
// undefined lengths; encapsulated Pixel Data as fragments.
//
// GDCM decodes the compressed pixel data (data/dicom.cpp), but it does not parse the file:
// Debian's GDCM is built with its assertions on, and a malformed data set makes its parser abort
// the whole process (the DICOM fuzzer found one in 14 inputs). This parser checks every length
// against the bytes left, nests at most kMaxDepth sequences, and reports anything else as an
// rg::Error naming the file, the byte offset and the element.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rg::data {

// A tag as messages name it: "(0028,1050) Window Center".
struct DicomTag {
  uint16_t group, element;
  const char* name;
  uint32_t key() const { return uint32_t(group) << 16 | element; }
  std::string describe() const;
};

struct DicomDataSet;

struct DicomElement {
  uint32_t key = 0;                         // group << 16 | element
  std::string_view value;                   // the value's bytes (not for sequences or fragments)
  std::vector<DicomDataSet> items;          // a sequence's items, when parsed
  std::vector<std::string_view> fragments;  // encapsulated Pixel Data: the offset table, then fragments
  bool encapsulated = false;
};

struct DicomDataSet {
  std::vector<DicomElement> elements;  // in the file's order
  const DicomElement* find(DicomTag tag) const;
};

inline constexpr int kMaxDepth = 8;  // sequences within sequences

struct DicomFile {
  std::string name;             // for messages
  std::string transfer_syntax;  // the UID, e.g. "1.2.840.10008.1.2.1"
  bool big_endian = false;
  DicomDataSet set;

  // Values of the data set (or of one of its sequence's items), parsed: text without DICOM's
  // padding (nullopt when absent or empty), the first of a decimal string's values ("40\400" ->
  // 40), 16-bit words (US, SS, OW) in this file's byte order.
  std::optional<std::string> text(const DicomDataSet& in, DicomTag tag) const;
  std::optional<double> decimal(const DicomDataSet& in, DicomTag tag) const;
  std::vector<uint16_t> words(const DicomDataSet& in, DicomTag tag) const;
  std::optional<int64_t> word(const DicomDataSet& in, DicomTag tag, bool is_signed) const;
  // The first item of a sequence; nullptr when there is none.
  const DicomDataSet* first_item(const DicomDataSet& in, DicomTag tag) const;
};

// Whether a file's first bytes are a DICOM file's: "DICM" after the 128-byte preamble.
bool is_dicom(const std::string& first_bytes);

// Parses `bytes`, which must outlive the result (values are views into it).
DicomFile parse_dicom(const std::string& bytes, const std::string& name);

// One element to write: its tag, VR and value bytes (text as it is, padded here to even length).
struct DicomValue {
  DicomTag tag;
  std::string vr;
  std::string bytes;
};
DicomValue dicom_text(DicomTag tag, const std::string& vr, const std::string& text);
DicomValue dicom_word(DicomTag tag, uint16_t value);  // US

// A DICOM file of `elements` (any order; written sorted by tag) in Explicit VR Little Endian: the
// preamble, "DICM", the File Meta Information naming the SOP class and instance (taken from the
// elements' (0008,0016) and (0008,0018)) and the transfer syntax, then the data set.
std::string write_dicom(std::vector<DicomValue> elements);

}  // namespace rg::data
