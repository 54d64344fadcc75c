#include "distributed/communicator.h"

#include <cstdlib>

namespace rg {

std::string Communicator::prefix() const {
  return size() > 1 ? "[rank " + std::to_string(rank()) + "/" + std::to_string(size()) + "] " : "";
}

std::vector<std::string> allgather_text(Communicator& comm, const std::string& text) {
  std::vector<double> mine{double(text.size())};  // the length, then one character per value
  for (unsigned char c : text) mine.push_back(c);
  const std::vector<double> all = comm.allgatherv(mine);
  std::vector<std::string> out;
  for (size_t at = 0; at < all.size(); at += size_t(all[at]) + 1) {
    std::string s;
    for (size_t i = 0; i < size_t(all[at]); ++i) s.push_back(char(all[at + 1 + i]));
    out.push_back(s);
  }
  return out;
}

namespace {
struct Done final : PendingCollective {
  void wait() override {}
};
}  // namespace

std::unique_ptr<PendingCollective> SingleProcess::allreduce_async(Tensor&, ReduceOp) {
  return std::make_unique<Done>();
}

void SingleProcess::abort(int code) { std::exit(code); }

}  // namespace rg
