// CUDA kernels against the CPU: every op on random inputs, plus the caching allocator.
// Part of cuda_tests, which reports itself skipped without a usable GPU (tests/cuda_main.cpp).
#include <doctest/doctest.h>

#include "apps/bench.h"
#include "autograd/engine.h"
#include "autograd/ops.h"
#include "helpers.h"
#include "tensor/backend.h"
#include "tensor/upload.h"

using namespace rg;
using namespace rg::test;

namespace {

const Device gpu = Device::cuda(0);

}  // namespace

TEST_CASE("CUDA: tensors round-trip between host and device in every dtype and layout") {
  Generator gen(1);
  for (Layout layout : kAllLayouts) {
    CAPTURE(layout_name(layout));
    const Tensor x = random_tensor({3, 4, 5}, layout, gen, DType::Float64, -300, 300);
    const Tensor on_gpu = same_view_on(x, gpu);  // the layout itself on the GPU
    CHECK(on_gpu.device() == gpu);
    CHECK(on_gpu.is_contiguous() == x.is_contiguous());
    check_close(on_gpu.to(Device::cpu()), contiguous_untracked(x), 0, 0, "to the host");
    check_close(x.to(gpu).to(Device::cpu()), contiguous_untracked(x), 0, 0, "to the GPU");
    // Conversions are defined for every value (tensor/dtype.h: convert), so both devices agree exactly.
    for (DType dtype : {DType::Float32, DType::UInt8, DType::Int64})
      check_close(on_gpu.to(dtype).to(Device::cpu()), x.to(dtype), 0, 0, dtype_name(dtype));
  }
  const Tensor edges = from_vector({-1.5, 255.5, 1e30, std::nan(""), -1e30}, {5}, DType::Float32);
  check_close(edges.to(gpu).to(DType::UInt8).to(Device::cpu()), edges.to(DType::UInt8), 0, 0, "uint8 edges");
  check_close(edges.to(gpu).to(DType::Int64).to(Device::cpu()), edges.to(DType::Int64), 0, 0, "int64 edges");
}

TEST_CASE("CUDA: elementwise ops, reductions and matmul equal the CPU results") {
  Generator gen(2);
  for (DType dtype : {DType::Float32, DType::Float64})
    for (Layout la : kAllLayouts)
      for (Layout lb : kAllLayouts) {
        CAPTURE(layout_name(la));
        CAPTURE(layout_name(lb));
        const double tol = dtype == DType::Float32 ? 1e-5 : 1e-12;
        Tensor a = random_tensor({4, 33, 65}, la, gen, dtype);
        Tensor b = random_tensor({4, 33, 65}, lb, gen, dtype, 0.5, 2.0);
        Tensor ga = same_view_on(a, gpu), gb = same_view_on(b, gpu);  // the layouts on the GPU
        check_close((ga + gb).to(Device::cpu()), a + b, tol, tol, "add");
        check_close((ga - gb).to(Device::cpu()), a - b, tol, tol, "sub");
        check_close((ga * gb).to(Device::cpu()), a * b, tol, tol, "mul");
        check_close((ga / gb).to(Device::cpu()), a / b, tol, tol, "div");
        check_close(gt(ga, gb).to(Device::cpu()), gt(a, b), 0, 0, "gt");
        check_close(exp(ga).to(Device::cpu()), exp(a), tol, tol, "exp");
        check_close(log(gb).to(Device::cpu()), log(b), tol, tol, "log");
        check_close(sqrt(gb).to(Device::cpu()), sqrt(b), tol, tol, "sqrt");
        check_close(pow(gb, 2.5).to(Device::cpu()), pow(b, 2.5), tol, tol, "pow");
        check_close(clamp(ga, -0.5, 0.5).to(Device::cpu()), clamp(a, -0.5, 0.5), 0, 0, "clamp");
        check_close(relu(ga).to(Device::cpu()), relu(a), 0, 0, "relu");
        check_close(sigmoid(ga).to(Device::cpu()), sigmoid(a), tol, tol, "sigmoid");
        check_close(silu(ga).to(Device::cpu()), silu(a), tol, tol, "silu");
        check_close(where(gt(ga, gb), ga, gb).to(Device::cpu()), where(gt(a, b), a, b), 0, 0, "where");
        // Broadcasting: [4, 33, 65] with [65] and with [4, 1, 65].
        Tensor row = random_tensor({65}, la, gen, dtype);
        check_close((ga * same_view_on(row, gpu)).to(Device::cpu()), a * row, tol, tol, "broadcast row");
        Tensor col = random_tensor({4, 1, 65}, lb, gen, dtype);
        check_close((ga - same_view_on(col, gpu)).to(Device::cpu()), a - col, tol, tol, "broadcast col");
        for (const Dims& dims : std::vector<Dims>{{}, {0}, {1}, {2}, {0, 2}, {1, 2}}) {
          check_close(sum(ga, dims, true).to(Device::cpu()), sum(a, dims, true), 1e-4, 1e-5, "sum");
          check_close(max(ga, dims, true).to(Device::cpu()), max(a, dims, true), 0, 0, "max");
        }
        Tensor m = random_tensor({4, 65, 17}, lb, gen, dtype);
        check_close(matmul(ga, same_view_on(m, gpu)).to(Device::cpu()), matmul(a, m), 1e-4, 1e-4, "bmm");
        Tensor a2 = slice(a, 0, 1, 2).to(Device::cpu());
        Tensor a2d = reshape(a2, {33, 65});
        check_close(matmul(transpose(a2d.to(gpu), 0, 1), a2d.to(gpu)).to(Device::cpu()),
                    matmul(transpose(a2d, 0, 1), a2d), 1e-4, 1e-4, "matmul A^T A");
        check_close(cat({ga, gb}, 1).to(Device::cpu()), cat({a, b}, 1), 0, 0, "cat");
      }
}

TEST_CASE("CUDA: backward on the GPU gives the CPU gradients") {
  Generator gen(3);
  Tensor w = rand({5, 3}, -1, 1, DType::Float64, Device::cpu(), gen);
  Tensor x = rand({8, 5}, -1, 1, DType::Float64, Device::cpu(), gen);
  auto loss_of = [&](const Tensor& wt, const Tensor& xt) { return mean(sigmoid(matmul(xt, wt)) * 2.0); };
  Tensor w_cpu = w.detach().set_requires_grad(true);
  backward(loss_of(w_cpu, x));
  Tensor w_gpu = w.to(gpu).set_requires_grad(true);
  backward(loss_of(w_gpu, x.to(gpu)));
  check_close(w_gpu.grad().to(Device::cpu()), w_cpu.grad(), 1e-12, 1e-10);
}

TEST_CASE("CUDA: the caching allocator reuses freed blocks and reports peak bytes") {
  Allocator& alloc = allocator_for(gpu);
  alloc.reset_peak();
  const MemoryStats start = alloc.stats();
  void* first = nullptr;
  {
    Tensor t = Tensor::empty({1 << 20}, DType::Float32, gpu);  // 4 MiB
    first = t.data_ptr();
    CHECK(alloc.stats().current_bytes == start.current_bytes + (4u << 20));
  }
  CHECK(alloc.stats().current_bytes == start.current_bytes);
  const size_t reserved = alloc.stats().reserved_bytes;
  Tensor again = Tensor::empty({1 << 20}, DType::Float32, gpu);
  CHECK(again.data_ptr() == first);                 // the cached block came back
  CHECK(alloc.stats().reserved_bytes == reserved);  // without a new cudaMalloc
  CHECK(alloc.stats().peak_bytes >= start.current_bytes + (4u << 20));
  int not_ours = 0;
  CHECK_THROWS_WITH_AS(alloc.deallocate(&not_ours, 4), doctest::Contains("not an allocated block"), Error);
  // A small request is split from a shared segment: its requested and handed-out bytes differ.
  const MemoryStats before_small = alloc.stats();
  Tensor small = Tensor::empty({250}, DType::Float32, gpu);  // 1000 bytes -> a 1024-byte block
  CHECK(alloc.stats().requested_bytes == before_small.requested_bytes + 1000);
  CHECK(alloc.stats().current_bytes == before_small.current_bytes + 1024);
}

TEST_CASE("CUDA: the fused optimizer update equals the CPU's") {
  Generator gen(4);
  const UpdateRule rule{.kind = UpdateRule::Kind::Adam,
                        .lr = 1e-3,
                        .weight_decay = 0.01,
                        .beta1 = 0.9,
                        .beta2 = 0.999,
                        .eps = 1e-8,
                        .bias1 = 0.1,
                        .bias2 = 0.001};
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Tensor p = rand({5001}, -1, 1, dtype, Device::cpu(), gen), g = rand({5001}, -1, 1, dtype, Device::cpu(), gen);
    Tensor p_cpu = p.to(dtype), m_cpu = zeros({5001}, dtype), v_cpu = zeros({5001}, dtype);
    Tensor p_gpu = p.to(gpu), m_gpu = zeros({5001}, dtype).to(gpu), v_gpu = zeros({5001}, dtype).to(gpu);
    backend_for(Device::cpu()).update(rule, p_cpu, g, m_cpu, v_cpu);
    backend_for(gpu).update(rule, p_gpu, g.to(gpu), m_gpu, v_gpu);
    const double tol = dtype == DType::Float32 ? 1e-6 : 1e-14;
    check_close(p_gpu, p_cpu, tol, tol, "p");
    check_close(v_gpu, v_cpu, tol, tol, "v");
  }
}

TEST_CASE("CUDA: bench's inputs are all on the GPU") {
  Generator gen(0);
  const app::BenchInputs in = app::bench_inputs(2, 32, gpu, gen);
  for (const Tensor* t : {&in.images, &in.labels, &in.w_pos, &in.w_neg}) CHECK(t->device() == gpu);
}

TEST_CASE("CUDA: uploads on the side stream equal plain copies, however many are in flight") {
  Generator gen(5);
  auto uploader = make_uploader(gpu);
  std::vector<Tensor> hosts;
  std::vector<Upload> pending;
  for (int i = 0; i < 6; ++i) {  // more than the uploader's staging buffers
    hosts.push_back(random_tensor({2 + i, 3, 17}, kAllLayouts[i % 4], gen));
    pending.push_back(uploader->start(hosts.back()));
    Tensor busy = rand({256, 256}).to(gpu);  // the GPU computes meanwhile
    busy = matmul(busy, busy);
  }
  for (int i = 0; i < 6; ++i) {
    const Tensor got = pending[i].take();
    CHECK(got.device() == gpu);
    check_close(got, hosts[i], 0, 0, "upload " + std::to_string(i));
  }
}
