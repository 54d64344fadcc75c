// Tensor basics: storage, shapes and strides, views, copies, printing, the CPU allocator.
#include <doctest/doctest.h>

#include <cstdint>
#include <sstream>

#include "autograd/ops.h"
#include "helpers.h"
#include "tensor/allocator.h"

using namespace rg;

TEST_CASE("empty tensors are contiguous row-major with the requested dtype") {
  Tensor t = Tensor::empty({2, 3, 4}, DType::Float64);
  CHECK(t.shape() == Shape{2, 3, 4});
  CHECK(t.strides() == Strides{12, 4, 1});
  CHECK(t.numel() == 24);
  CHECK(t.dim() == 3);
  CHECK(t.size(-1) == 4);
  CHECK(t.dtype() == DType::Float64);
  CHECK(t.device() == Device::cpu());
  CHECK(t.is_contiguous());
  CHECK(t.storage()->bytes() == 24 * 8);
}

TEST_CASE("all four dtypes store and convert values") {
  Tensor f = from_vector({1.5, -2.0, 3.0}, {3});
  CHECK(f.to(DType::Float64).to_vector<double>() == std::vector<double>{1.5, -2.0, 3.0});
  CHECK(f.to(DType::Int64).to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3});
  Tensor u = from_vector({0, 128, 255}, {3}, DType::UInt8);
  CHECK(u.dtype() == DType::UInt8);
  CHECK(u.to(DType::Float32).to_vector<float>() == std::vector<float>{0, 128, 255});
  CHECK(arange(4, DType::Int64).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3});
}

TEST_CASE("views share storage with their base") {
  Tensor base = arange(12);
  Tensor m = reshape(base, {3, 4});
  CHECK(m.storage() == base.storage());
  Tensor t = transpose(m, 0, 1);
  CHECK(t.storage() == base.storage());
  CHECK(t.shape() == Shape{4, 3});
  CHECK(t.strides() == Strides{1, 4});
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.to_vector<int>() == std::vector<int>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});

  Tensor s = slice(m, 1, 1, 3);  // columns 1 and 2
  CHECK(s.storage() == base.storage());
  CHECK(s.offset() == 1);
  CHECK(s.to_vector<int>() == std::vector<int>{1, 2, 5, 6, 9, 10});

  Tensor p = permute(reshape(base, {2, 3, 2}), {2, 0, 1});
  CHECK(p.shape() == Shape{2, 2, 3});
  CHECK(p.to_vector<int>() == std::vector<int>{0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11});

  // Writing through a view changes the base.
  s.fill_(-1);
  CHECK(base.to_vector<int>() == std::vector<int>{0, -1, -1, 3, 4, -1, -1, 7, 8, -1, -1, 11});
}

TEST_CASE("contiguous() copies only when needed, and reshape of a non-contiguous view copies") {
  Tensor m = reshape(arange(6), {2, 3});
  CHECK(contiguous(m).same(m));
  Tensor t = transpose(m, 0, 1);
  Tensor c = contiguous(t);
  CHECK(c.is_contiguous());
  CHECK(c.storage() != m.storage());
  CHECK(c.to_vector<int>() == t.to_vector<int>());
  Tensor r = reshape(t, {6});
  CHECK(r.to_vector<int>() == std::vector<int>{0, 3, 1, 4, 2, 5});
  Tensor inferred = reshape(m, {-1, 2});
  CHECK(inferred.shape() == Shape{3, 2});
}

TEST_CASE("copy_ broadcasts and converts") {
  Tensor dst = zeros({2, 3}, DType::Float64);
  dst.copy_(from_vector({1, 2, 3}, {3}));
  CHECK(dst.to_vector<double>() == std::vector<double>{1, 2, 3, 1, 2, 3});
}

TEST_CASE("printing shows dtype, shape, device and values; large tensors are elided") {
  std::ostringstream small;
  small << from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(small.str().find("float32") != std::string::npos);
  CHECK(small.str().find("shape=[2, 3]") != std::string::npos);
  CHECK(small.str().find("device=cpu") != std::string::npos);
  CHECK(small.str().find("6.0000") != std::string::npos);
  CHECK(small.str().find("...") == std::string::npos);

  std::ostringstream large;
  large << arange(5000, DType::Int64);
  CHECK(large.str().find("int64") != std::string::npos);
  CHECK(large.str().find("[0, 1, 2, ..., 4997, 4998, 4999]") != std::string::npos);
}

TEST_CASE("the CPU allocator aligns to 64 bytes and tracks requested, current and peak bytes") {
  Allocator& cpu = allocator_for(Device::cpu());
  cpu.reset_peak();
  const MemoryStats before = cpu.stats();
  {
    Tensor a = Tensor::empty({1000});  // 4000 bytes: a block of 4096
    Tensor b = Tensor::empty({3});     // 12 bytes: a block of 512
    CHECK(reinterpret_cast<uintptr_t>(a.data<float>()) % 64 == 0);
    CHECK(reinterpret_cast<uintptr_t>(b.data<float>()) % 64 == 0);
    CHECK(cpu.stats().requested_bytes == before.requested_bytes + 4012);
    CHECK(cpu.stats().current_bytes == before.current_bytes + 4608);
  }
  CHECK(cpu.stats().current_bytes == before.current_bytes);
  CHECK(cpu.stats().peak_bytes >= before.current_bytes + 4608);
}

TEST_CASE("the CPU allocator keeps freed blocks for the next request, aligned, until empty_cache()") {
  Allocator& cpu = allocator_for(Device::cpu());
  const size_t bytes = 10u << 20;
  void* a = cpu.allocate(bytes);
  const size_t reserved = cpu.stats().reserved_bytes;
  cpu.deallocate(a, bytes);
  void* b = cpu.allocate(bytes);  // the same block again, no new segment
  CHECK(b == a);
  CHECK(cpu.stats().reserved_bytes == reserved);
  for (size_t size : {size_t(1), size_t(63), size_t(100), size_t(5000), size_t(3) << 20}) {
    void* p = cpu.allocate(size);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    cpu.deallocate(p, size);
  }
  cpu.deallocate(b, bytes);
  cpu.empty_cache();
  CHECK(cpu.stats().reserved_bytes < reserved);
}

TEST_CASE("item() reads single-element tensors") {
  CHECK(scalar(2.5).item() == 2.5);
  CHECK(sum(from_vector({1, 2, 3}, {3})).item<float>() == 6.0f);
}
