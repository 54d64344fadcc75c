// DICOM radiographs — uncompressed, RLE, JPEG lossless and lossy, JPEG-LS, JPEG 2000 (the last
// three through GDCM, Debian's libgdcm-dev, with its CharLS and OpenJPEG; JPEG 2000 in a process
// of its own, data/jpeg2000_process.h) — decoded to the gray image a DICOM viewer displays, on
// the 0..255 scale every other decoder gives.
//
//   stored values      the first frame's pixels: BitsStored bits ending at HighBit, taken out of
//                      each BitsAllocated word (other bits are overlays or garbage), two's
//                      complement when PixelRepresentation is 1
//   modality LUT       Rescale Slope/Intercept (0028,1053)/(0028,1052), or a Modality LUT Sequence
//                      (0028,3000): stored values -> the modality's units
//   VOI                a VOI LUT Sequence (0028,3010), else the first Window Center/Width
//                      (0028,1050)/(0028,1051) with its VOI LUT Function (LINEAR, LINEAR_EXACT,
//                      SIGMOID), else the whole range the stored bits can hold: the part of the
//                      range a reader looks at -> the output range
//   MONOCHROME1        inverted, so that higher always means brighter (MONOCHROME2)
//   0..255             the output range scaled to 0..255; Pixel Padding Value (0028,0120) pixels
//                      (up to Pixel Padding Range Limit (0028,0121)) are black
//
// These are pydicom's apply_modality_lut and apply_voi_lut, step by step (tests/dicom_pydicom.py
// compares them on the same files). A multi-frame file gives its first frame (said once per run);
// a color image, a file without Pixel Data, or one whose Rows x Columns x Number of Frames passes
// the decoders' pixel limit (image_limits) is an error naming the file and the tag.
#pragma once

#include <string>

#include "data/image.h"

namespace rg::data {

GrayImage decode_dicom(const std::string& bytes, const std::string& name);

// How encode_dicom stores a gray image g (0..255): each a layout of real radiographs that the
// decoder must undo, chosen so that it gives back exactly g.
enum class DicomLayout {
  kWindowed12,        // MONOCHROME2, 12 of 16 bits holding 16 g, Window Center 2040.5, Width 4081
  kInverted16,        // MONOCHROME1 (bright is low), 16 bits holding 257 (255 - g), no window
  kSigned16Rescaled,  // signed 16 bits holding 257 g - 32768, Rescale Intercept 32768, no window
};
inline constexpr DicomLayout kDicomLayouts[] = {DicomLayout::kWindowed12, DicomLayout::kInverted16,
                                                DicomLayout::kSigned16Rescaled};

// A Digital X-Ray DICOM (Explicit VR Little Endian) of `image`, its gray levels first rounded to
// whole 0..255 as a PNG stores them: decoding it gives the PNG's pixels.
// `uid` makes the SOP Instance UID (2.25.<uid>).
std::string encode_dicom(const GrayImage& image, DicomLayout layout, const std::string& patient_id, uint64_t uid);

}  // namespace rg::data
