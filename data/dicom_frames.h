// The tags of DICOM's image pixel module, and the first frame of a DICOM's pixel data as words of
// Bits Allocated, little-endian: native data as the file stores it, RLE decoded here, JPEG and
// JPEG-LS by GDCM once their headers agree with the data set, JPEG 2000 by GDCM in a process of
// its own (data/jpeg2000_process.h). Used by data/dicom.cpp, which turns the words into a
// viewer's gray image.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "data/dicom_file.h"

namespace rg::data::dicom {

inline const DicomTag kSamplesPerPixel{0x0028, 0x0002, "Samples per Pixel"};
inline const DicomTag kPhotometric{0x0028, 0x0004, "Photometric Interpretation"};
inline const DicomTag kFrames{0x0028, 0x0008, "Number of Frames"};
inline const DicomTag kRows{0x0028, 0x0010, "Rows"};
inline const DicomTag kColumns{0x0028, 0x0011, "Columns"};
inline const DicomTag kBitsAllocated{0x0028, 0x0100, "Bits Allocated"};
inline const DicomTag kBitsStored{0x0028, 0x0101, "Bits Stored"};
inline const DicomTag kHighBit{0x0028, 0x0102, "High Bit"};
inline const DicomTag kPixelRepresentation{0x0028, 0x0103, "Pixel Representation"};
inline const DicomTag kPaddingValue{0x0028, 0x0120, "Pixel Padding Value"};
inline const DicomTag kPaddingLimit{0x0028, 0x0121, "Pixel Padding Range Limit"};
inline const DicomTag kWindowCenter{0x0028, 0x1050, "Window Center"};
inline const DicomTag kWindowWidth{0x0028, 0x1051, "Window Width"};
inline const DicomTag kRescaleIntercept{0x0028, 0x1052, "Rescale Intercept"};
inline const DicomTag kRescaleSlope{0x0028, 0x1053, "Rescale Slope"};
inline const DicomTag kVoiFunction{0x0028, 0x1056, "VOI LUT Function"};
inline const DicomTag kModalityLutSequence{0x0028, 0x3000, "Modality LUT Sequence"};
inline const DicomTag kLutDescriptor{0x0028, 0x3002, "LUT Descriptor"};
inline const DicomTag kLutData{0x0028, 0x3006, "LUT Data"};
inline const DicomTag kVoiLutSequence{0x0028, 0x3010, "VOI LUT Sequence"};
inline const DicomTag kPixelData{0x7FE0, 0x0010, "Pixel Data"};

// How the stored bits sit in each word of the pixel data.
struct Bits {
  int allocated = 16, stored = 16, high = 15;
  bool is_signed = false;
  double min() const { return is_signed ? -std::ldexp(1.0, stored - 1) : 0.0; }
  double max() const { return is_signed ? std::ldexp(1.0, stored - 1) - 1 : std::ldexp(1.0, stored) - 1; }
};

// The image's size and photometry (data/dicom.cpp:geometry_of reads and checks them).
struct Geometry {
  uint64_t rows = 0, columns = 0, frames = 1;
  bool monochrome1 = false;
  size_t pixels() const { return size_t(rows * columns); }
};

// The first frame: `file`'s Pixel Data element `pixels`, native or encapsulated. An error naming
// the file when it is short, corrupt, or in a transfer syntax roentgen does not decode.
std::vector<char> first_frame_words(const DicomFile& file, const DicomElement& pixels, const Geometry& g,
                                    const Bits& bits);

// One frame of JPEG, JPEG-LS or JPEG 2000 data (`syntax_uid`: the file's transfer syntax) decoded
// by GDCM's codec, after a JPEG or JPEG-LS header is checked against the data set (the .cpp says
// why). Call it for JPEG 2000 only in roentgen-decode-j2k's process (data/jpeg2000_process.h).
std::vector<char> decode_with_gdcm(const std::string& frame, const std::string& syntax_uid, const Geometry& g,
                                   const Bits& bits, const std::string& file);

}  // namespace rg::data::dicom
