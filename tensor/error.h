// rg::Error — the one exception type of roentgen, and RG_CHECK to raise it.
//
// Every message says which op complained, what it expected and what it got:
//   RG_CHECK(a.dtype() == b.dtype(), "add: dtype mismatch: ", a.dtype(), " vs ", b.dtype());
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace rg {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace rg

// Throws rg::Error built from the message parts when `cond` is false.
#define RG_CHECK(cond, ...)                                            \
  do {                                                                 \
    if (!(cond)) throw ::rg::Error(::rg::detail::concat(__VA_ARGS__)); \
  } while (0)
