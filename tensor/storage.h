// Storage: one block of bytes on one device, shared by every tensor that views it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "tensor/allocator.h"
#include "tensor/device.h"

namespace rg {

class Storage {
 public:
  Storage(size_t bytes, Device device) : bytes_(bytes), device_(device), allocator_(&allocator_for(device)) {
    data_ = bytes ? allocator_->allocate(bytes) : nullptr;
  }
  // Bytes that someone else owns (a memory-mapped file, a buffer from another library);
  // `release` is called with `data` when the last tensor viewing them is gone.
  Storage(void* data, size_t bytes, Device device, std::function<void(void*)> release)
      : data_(data), bytes_(bytes), device_(device), allocator_(nullptr), release_(std::move(release)) {}

  ~Storage() {
    if (release_)
      release_(data_);
    else if (data_)
      allocator_->deallocate(data_, bytes_);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_;
  Device device_;
  Allocator* allocator_;                // null for external bytes
  std::function<void(void*)> release_;  // set for external bytes
};

}  // namespace rg
