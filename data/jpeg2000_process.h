// JPEG 2000 frames, decoded in a process of their own.
//
// GDCM decodes JPEG 2000 through OpenJPEG, and Debian's OpenJPEG 2.5.0 corrupted its heap on
// malformed streams under the DICOM fuzzer — once in the SIZ marker, once in code-block data after
// 3.8 million inputs — which no header check can rule out. So roentgen never runs it in its own
// process: each JPEG 2000 frame goes to the helper program roentgen-decode-j2k
// (apps/decode_j2k.cpp), the frame's bytes on its standard input, the frame's words (or an error
// message) on its standard output. Whatever a stream does to the helper's memory ends with it. A
// helper that dies, runs past its CPU-time limit (2 s + 1 s per 2 megapixels) or answers with
// the wrong number of bytes is an rg::Error naming the file, as for any corrupt image.
//
// The helper is found beside the running program (roentgen, the examples, the tests and the
// fuzzers are all built into one bin/ folder), or at $ROENTGEN_J2K_DECODER.
#pragma once

#include <string>
#include <vector>

#include "data/dicom_frames.h"

namespace rg::data::dicom {

// The frame's words, as dicom::decode_with_gdcm gives them.
std::vector<char> decode_jpeg2000_in_own_process(const std::string& frame, const std::string& syntax_uid,
                                                 const Geometry& g, const Bits& bits, const std::string& file);

// The helper's CPU-time limit for a frame of `pixels`, in seconds.
int jpeg2000_cpu_seconds(size_t pixels);

}  // namespace rg::data::dicom
