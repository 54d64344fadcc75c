// TensorBoard event files: scalars that `tensorboard --logdir DIR` plots.
//
// An event file is a sequence of TFRecords — [uint64 length][uint32 masked CRC-32C of the
// length][data][uint32 masked CRC-32C of the data] — whose data are Event protocol buffers:
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
// We write those few fields by hand; no protobuf library is needed.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace rg {

class TensorBoardWriter {
 public:
  // Creates DIR/events.out.tfevents.<seconds>.roentgen (and DIR).
  explicit TensorBoardWriter(const std::string& dir);
  void scalar(const std::string& tag, double value, int64_t step);
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& data);
  std::string path_;
  std::ofstream out_;
};

// CRC-32C (Castagnoli), as TFRecord uses; exposed for tests.
uint32_t crc32c(const std::string& data);

}  // namespace rg
