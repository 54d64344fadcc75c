// roentgen-decode-j2k: one JPEG 2000 frame decoded by GDCM, in a process of its own
// (data/jpeg2000_process.h says why). Started by roentgen, never by hand:
//   roentgen-decode-j2k ROWS COLUMNS BITS_ALLOCATED BITS_STORED HIGH_BIT SIGNED MONOCHROME1
//                       TRANSFER_SYNTAX_UID FILE CPU_SECONDS  < frame  > words
// It reads the whole frame from its standard input, then writes the frame's words to its standard
// output and exits 0, or writes an error message naming FILE and exits 2. It limits its own CPU
// time, so a stream that makes the decoder loop ends with SIGXCPU.
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "data/dicom_frames.h"
#include "tensor/error.h"

namespace {

std::string read_standard_input() {
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = read(0, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return bytes;
    bytes.append(buffer, size_t(n));
  }
}

void write_standard_output(const char* data, size_t size) {
  for (size_t done = 0; done < size;) {
    const ssize_t n = write(1, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += size_t(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    RG_CHECK(argc == 11, "roentgen-decode-j2k: expected 10 arguments (it is started by roentgen; ",
             "data/jpeg2000_process.h)");
    const rlim_t seconds = std::stoul(argv[10]);
    const rlimit cpu{seconds, seconds + 1};
    setrlimit(RLIMIT_CPU, &cpu);
    rg::data::dicom::Geometry g;
    g.rows = std::stoull(argv[1]);
    g.columns = std::stoull(argv[2]);
    g.monochrome1 = std::string(argv[7]) == "1";
    rg::data::dicom::Bits bits;
    bits.allocated = std::stoi(argv[3]);
    bits.stored = std::stoi(argv[4]);
    bits.high = std::stoi(argv[5]);
    bits.is_signed = std::string(argv[6]) == "1";
    const std::vector<char> words = rg::data::dicom::decode_with_gdcm(read_standard_input(), argv[8], g, bits, argv[9]);
    write_standard_output(words.data(), words.size());
    return 0;
  } catch (const std::exception& e) {
    const std::string message = e.what();
    write_standard_output(message.data(), message.size());
    return 2;
  }
}
