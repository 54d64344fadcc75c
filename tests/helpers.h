// Test helpers: tensors in every layout, and an elementwise closeness check that says where.
#pragma once

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "tensor/factory.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace rg::test {

// Passes gradcheck, and at random inputs no point may look like a kink: a jump in a smooth op's
// forward would otherwise be skipped instead of failing.
inline void expect_gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs) {
  const GradcheckResult r = gradcheck(fn, inputs);
  INFO(r.message);
  CHECK(r.ok);
  CHECK(r.compared > 0);
  CHECK(r.kinks == 0);
}

// True (after printing why the running test skips) when `found` is empty: `what` is not on this machine.
inline bool skip_without(const std::string& found, const std::string& what) {
  if (!found.empty()) return false;
  std::cout << "[skipped] " << doctest::getContextOptions()->currentTest->m_name << ": " << what
            << " is not present on this machine\n";
  return true;
}

// How a test tensor's elements are laid out in memory.
enum class Layout { Contiguous, Transposed, Strided, Broadcast };
inline const char* layout_name(Layout l) {
  static const char* names[] = {"contiguous", "transposed", "strided (offset, gaps)", "broadcast"};
  return names[int(l)];
}
inline constexpr Layout kAllLayouts[] = {Layout::Contiguous, Layout::Transposed, Layout::Strided, Layout::Broadcast};

// A tensor of `shape` with values uniform in [low, high), stored in the given layout.
inline Tensor random_tensor(const Shape& shape, Layout layout, Generator& gen, DType dtype = DType::Float32,
                            double low = -2.0, double high = 2.0) {
  switch (layout) {
    case Layout::Contiguous: return rand(shape, low, high, dtype, Device::cpu(), gen);
    case Layout::Transposed: {  // stored with the dims reversed, viewed back in order
      Shape reversed(shape.rbegin(), shape.rend());
      Tensor base = rand(reversed, low, high, dtype, Device::cpu(), gen);
      Strides strides(base.strides().rbegin(), base.strides().rend());
      return view_untracked(base, shape, strides, 0);
    }
    case Layout::Strided: {  // a window inside a bigger tensor: offset 1 and gaps in every dim
      Shape bigger = shape;
      for (auto& s : bigger) s = s * 2 + 1;
      Tensor base = rand(bigger, low, high, dtype, Device::cpu(), gen);
      Strides strides = base.strides();
      int64_t offset = 0;
      for (size_t d = 0; d < shape.size(); ++d) {
        offset += base.strides()[d];
        strides[d] *= 2;
      }
      return view_untracked(base, shape, strides, offset);
    }
    case Layout::Broadcast: {  // the first dim is a stride-0 repeat of a single row
      if (shape.empty()) return rand(shape, low, high, dtype, Device::cpu(), gen);
      Shape one = shape;
      one[0] = 1;
      return expand_untracked(rand(one, low, high, dtype, Device::cpu(), gen), shape);
    }
  }
  return {};
}

// The positions of the null entries of a kernel table (tensor/backend.h's Backend,
// layers/kernels.h's LayerKernels: structs of pointers only, the name first).
template <typename Table>
std::vector<size_t> null_entries(const Table& table) {
  static_assert(sizeof(Table) % sizeof(void*) == 0, "a kernel table holds pointers only");
  std::array<uintptr_t, sizeof(Table) / sizeof(void*)> words;
  std::memcpy(words.data(), &table, sizeof(Table));
  std::vector<size_t> nulls;
  for (size_t i = 0; i < words.size(); ++i)
    if (words[i] == 0) nulls.push_back(i);
  return nulls;
}

// The same view as `t` (shape, strides, offset) over a copy of its whole storage on `device`: the
// layout itself on that device (t.to(device) would make a contiguous tensor).
inline Tensor same_view_on(const Tensor& t, Device device) {
  const int64_t elements = int64_t(t.storage()->bytes() / dtype_size(t.dtype()));
  const Tensor storage = view_untracked(t, {elements}, {1}, 0).to(device);
  return view_untracked(storage, t.shape(), t.strides(), t.offset());
}

// Checks |a - b| <= atol + rtol |b| elementwise (b is the reference); reports the first miss.
inline void check_close(const Tensor& a, const Tensor& b, double atol = 1e-5, double rtol = 1e-5,
                        const std::string& what = "") {
  INFO(what);
  REQUIRE(a.shape() == b.shape());
  REQUIRE(a.dtype() == b.dtype());
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  int64_t bad = -1;
  for (size_t i = 0; i < va.size() && bad < 0; ++i) {
    const bool both_nan = std::isnan(va[i]) && std::isnan(vb[i]);
    const bool both_inf = std::isinf(va[i]) && va[i] == vb[i];
    if (!both_nan && !both_inf && !(std::abs(va[i] - vb[i]) <= atol + rtol * std::abs(vb[i]))) bad = int64_t(i);
  }
  if (bad >= 0) {
    FAIL_CHECK("element " << bad << " differs: " << va[bad] << " vs reference " << vb[bad] << " (shape "
                          << shape_str(a.shape()) << ")");
  }
}

}  // namespace rg::test
