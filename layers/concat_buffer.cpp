#include "layers/concat_buffer.h"

#include "autograd/grad_mode.h"
#include "layers/layer_common.h"

namespace rg {

using namespace detail;

ConcatBuffer::ConcatBuffer(int64_t n, int64_t channels, int64_t h, int64_t w, DType dtype, Device device)
    : buffer_(Tensor::empty({n, channels, h, w}, dtype, device)) {}

void ConcatBuffer::append(const Tensor& part) {
  const Shape& b = buffer_.shape();
  RG_CHECK(part.dim() == 4 && part.size(0) == b[0] && part.size(2) == b[2] && part.size(3) == b[3],
           "ConcatBuffer::append: part ", shape_str(part.shape()), " does not fit a buffer ", shape_str(b));
  RG_CHECK(filled_ + part.size(1) <= b[1], "ConcatBuffer::append: ", filled_, " + ", part.size(1),
           " channels exceed the buffer's ", b[1]);
  check_same_kind(buffer_, part, "ConcatBuffer::append", "the part");
  Shape window = b;
  window[1] = part.size(1);
  Tensor slot = view_untracked(buffer_, window, buffer_.strides(), filled_ * buffer_.strides()[1]);
  slot.copy_(part);
  filled_ += part.size(1);
  if (!GradMode::is_enabled()) return;
  if (part.requires_grad() && !part.is_leaf()) {
    // From now on the part lives in the buffer: remember the buffer slot, in the part's place in
    // the graph, so the part's own memory can be freed.
    parts_.push_back(autograd::stand_in(slot, part));
  } else {
    parts_.push_back(part);
  }
}

Tensor ConcatBuffer::view() const {
  Shape shape = buffer_.shape();
  shape[1] = filled_;
  Tensor out = view_untracked(buffer_, shape, buffer_.strides(), 0);
  std::vector<int64_t> sizes;
  for (const Tensor& p : parts_) sizes.push_back(p.size(1));
  return record("concat", out, parts_, [sizes](const Tensor& gy) -> Grads {
    Grads grads;
    int64_t at = 0;
    for (int64_t c : sizes) {
      grads.push_back(slice(gy, 1, at, at + c));
      at += c;
    }
    return grads;
  });
}

}  // namespace rg
