// Printing: `std::cout << t` shows dtype, shape, device and the values.
// Like NumPy, tensors with more than 1000 elements show only 3 entries at each end of every dim.
#include <iomanip>
#include <sstream>

#include "tensor/tensor.h"

namespace rg {
namespace {

constexpr int64_t kElideAbove = 1000;
constexpr int64_t kEdgeItems = 3;

void print_values(std::ostream& os, const std::vector<double>& values, const Shape& shape, const Strides& strides,
                  int64_t dim, int64_t base, bool elide, bool integer, int indent) {
  if (shape.empty()) {  // a 0-d tensor: one value
    os << values[0];
    return;
  }
  os << '[';
  const int64_t n = shape[dim];
  const bool skip_middle = elide && n > 2 * kEdgeItems;
  for (int64_t i = 0; i < n; ++i) {
    if (skip_middle && i == kEdgeItems) {
      os << "...";
      i = n - kEdgeItems;
      os << (dim + 1 == int64_t(shape.size()) ? ", " : ",\n" + std::string(indent + 1, ' '));
    }
    const int64_t at = base + i * strides[dim];
    if (dim + 1 == int64_t(shape.size())) {
      if (integer)
        os << static_cast<int64_t>(values[at]);
      else
        os << std::setw(9) << values[at];
    } else {
      print_values(os, values, shape, strides, dim + 1, at, elide, integer, indent + 1);
    }
    if (i + 1 < n) os << (dim + 1 == int64_t(shape.size()) ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "Tensor(undefined)";
  os << "Tensor(" << t.dtype() << ", shape=" << shape_str(t.shape()) << ", device=" << t.device();
  if (t.requires_grad()) os << ", requires_grad";
  os << ")\n";
  const std::vector<double> values = t.to_vector<double>();
  std::ostringstream body;
  body << std::setprecision(4) << std::fixed;
  print_values(body, values, t.shape(), contiguous_strides(t.shape()), 0, 0, t.numel() > kElideAbove,
               !is_floating(t.dtype()), 0);
  return os << body.str();
}

}  // namespace rg
