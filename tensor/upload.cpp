#include "tensor/upload.h"

namespace rg {

Upload& Upload::operator=(Upload&& other) noexcept {
  if (this != &other) {
    order();
    tensor_ = std::move(other.tensor_);
    order_ = std::move(other.order_);
  }
  return *this;
}

Upload::~Upload() { order(); }

void Upload::order() {
  if (!order_) return;
  auto order = std::move(order_);
  order_ = nullptr;
  try {
    order();
  } catch (...) {  // a destructor may not throw; a broken device reports itself at its next call
  }
}

Tensor Upload::take() {
  RG_CHECK(tensor_.defined(), "Upload::take: nothing pending (taken already, or never started)");
  if (order_) {
    auto order = std::move(order_);
    order_ = nullptr;
    order();  // errors reach the caller here
  }
  return std::move(tensor_);
}

}  // namespace rg
