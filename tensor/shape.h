// Shape and strides: the sizes of a tensor's dimensions and the element step along each.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace rg {

using Shape = std::vector<int64_t>;    // sizes, outermost first: {N, C, H, W}
using Strides = std::vector<int64_t>;  // elements to skip to move one step along each dim

int64_t numel(const Shape& shape);

// Row-major ("C order") strides: the last dimension is contiguous.
Strides contiguous_strides(const Shape& shape);

// "[2, 3, 4]"
std::string shape_str(const Shape& shape);

// NumPy broadcasting: align on the right; sizes must match or one of them be 1.
// Throws rg::Error naming `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Turns a possibly negative dim (-1 = last) into 0..rank-1, or throws naming `op`.
int64_t normalize_dim(int64_t dim, int64_t rank, const char* op);

}  // namespace rg
