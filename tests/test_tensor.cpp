// Tensor basics: storage, shapes and strides, views, copies, printing, the CPU allocator.
#include <doctest/doctest.h>

#include <cstdint>
#include <sstream>

#include "autograd/ops.h"
#include "data_helpers.h"
#include "helpers.h"
#include "tensor/allocator.h"
#include "tensor/io.h"
#include "tensor/safetensors.h"

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

namespace {

// The bfloat16 bits of the float with bits `f`.
uint16_t bf16_of_bits(uint32_t f) { return to_bfloat16(__builtin_bit_cast(float, f)).bits; }

}  // namespace

TEST_CASE("bfloat16 rounds to nearest even: ties, subnormals, the largest finite value, infinities, NaN") {
  CHECK(bf16_of_bits(0x3f800000) == 0x3f80);  // 1
  CHECK(bf16_of_bits(0xc0000000) == 0xc000);  // -2
  CHECK(bf16_of_bits(0x80000000) == 0x8000);  // -0 keeps its sign
  // Ties go to the even neighbour; anything past the tie rounds away.
  CHECK(bf16_of_bits(0x3f808000) == 0x3f80);  // 1 + 2^-8, halfway between 0x3f80 and 0x3f81
  CHECK(bf16_of_bits(0x3f818000) == 0x3f82);  // halfway between 0x3f81 and 0x3f82
  CHECK(bf16_of_bits(0x3f808001) == 0x3f81);
  CHECK(bf16_of_bits(0x3f807fff) == 0x3f80);
  CHECK(bf16_of_bits(0x3fffffff) == 0x4000);  // a carry into the exponent: 1.99999988 -> 2
  // Subnormals stay subnormal, ties to even there too.
  CHECK(bf16_of_bits(0x00010000) == 0x0001);  // the smallest bfloat16 subnormal
  CHECK(bf16_of_bits(0x00008000) == 0x0000);  // half of it: a tie, to 0 (even)
  CHECK(bf16_of_bits(0x00018000) == 0x0002);  // a tie between 0x0001 and 0x0002
  CHECK(bf16_of_bits(0x00000001) == 0x0000);  // the smallest float32 subnormal
  CHECK(bf16_of_bits(0x807f8000) == 0x8080);  // the largest negative subnormal rounds up to -FLT_MIN
  // The largest finite bfloat16 (3.3895e38) and what lies beyond it.
  CHECK(bf16_of_bits(0x7f7f0000) == 0x7f7f);
  CHECK(bf16_of_bits(0x7f7f7fff) == 0x7f7f);
  CHECK(bf16_of_bits(0x7f7f8000) == 0x7f80);  // the tie: 0x7f7f is odd, so up, to infinity
  CHECK(bf16_of_bits(0x7f7fffff) == 0x7f80);  // FLT_MAX
  CHECK(bf16_of_bits(0x7f800000) == 0x7f80);  // inf
  CHECK(bf16_of_bits(0xff800000) == 0xff80);  // -inf
  // Every NaN is the quiet NaN 0x7fc0, a signaling one (which truncation would make infinite) too.
  for (uint32_t nan : {0x7fc00000u, 0xffc00001u, 0x7f800001u, 0x7fffffffu}) CHECK(bf16_of_bits(nan) == 0x7fc0);
  // Back to float32: exact.
  for (uint16_t b : {0x3f80, 0x0001, 0x7f7f, 0xff80, 0x8000})
    CHECK(__builtin_bit_cast(uint32_t, to_float(bfloat16{b})) == uint32_t(b) << 16);
}

TEST_CASE("bfloat16 tensors: conversion both ways, printing, safetensors BF16") {
  const Tensor f = from_vector({1.0, 1.00390625, -3.14159, 1e30, 65504}, {5});
  const Tensor b = f.to(DType::BFloat16);
  CHECK(b.dtype() == DType::BFloat16);
  CHECK(b.storage()->bytes() == 5 * 2);
  // 1e30 is float32 0x7149f2ca: rounded up to 0x714a.
  CHECK(b.to_vector<float>() == std::vector<float>{1.0f, 1.0f, -3.140625f, to_float(bfloat16{0x714a}), 65536.0f});
  CHECK(b.to(DType::Float32).to_vector<float>() == b.to_vector<float>());
  CHECK(from_vector({2.5}, {1}, DType::BFloat16).to_vector<double>() == std::vector<double>{2.5});
  Tensor filled = Tensor::empty({2}, DType::BFloat16);
  filled.fill_(0.1);
  CHECK(filled.to_vector<double>()[0] == double(to_float(to_bfloat16(0.1f))));
  std::ostringstream printed;
  printed << b;
  CHECK(printed.str().find("Tensor(bfloat16, shape=[5]") != std::string::npos);
  CHECK(printed.str().find("-3.1406") != std::string::npos);
  CHECK(dtype_from_name("bfloat16") == DType::BFloat16);
  CHECK_THROWS_WITH_AS(dtype_from_name("bf17"),
                       doctest::Contains("unknown dtype 'bf17' (expected float32, float64, uint8, int64 or bfloat16)"),
                       Error);

  test::TempDir dir;
  const std::string path = dir.file("b.safetensors");
  write_safetensors(path, {{"b", b}}, {});
  const SafeTensors back = read_safetensors(path);
  CHECK(back.find("b").dtype() == DType::BFloat16);
  CHECK(back.find("b").to_vector<float>() == b.to_vector<float>());
  CHECK(read_file(path).find("\"dtype\":\"BF16\"") != std::string::npos);
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
