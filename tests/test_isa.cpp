// The CPU's identity and the instruction-set levels: OpenBLAS's core corrected where it does not
// know the CPU (a pure decision, tested on table cases so that it is tested on every machine, and
// the core in use here), and the vector kernels of every level against the baseline, bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "tensor/cpu/blas_core.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/vector_kernels.h"
#include "tensor/error.h"
#include "tensor/random.h"

using namespace rg;
using namespace rg::cpu;

namespace {

CpuFeatures intel_avx512(bool bf16) {
  CpuFeatures f;
  f.vendor = "GenuineIntel";
  f.family = 6;
  f.model = bf16 ? 207 : 85;
  f.avx = f.avx2 = f.fma = true;
  f.avx512f = f.avx512bw = f.avx512dq = f.avx512vl = true;
  f.avx512_bf16 = bf16;
  return f;
}

CpuFeatures amd_zen(int family) {
  CpuFeatures f;
  f.vendor = "AuthenticAMD";
  f.family = family;
  f.model = 1;
  f.avx = f.avx2 = f.fma = true;
  return f;
}

}  // namespace

TEST_CASE("OpenBLAS's core: the correction for a CPU OpenBLAS does not know, none where its choice fits") {
  // The Intel Xeon of issue 17 (family 6, model 207, AVX-512 with BF16): OpenBLAS 0.3.21 said Prescott.
  CHECK(blas_core_correction(intel_avx512(true), "Prescott") == "COOPERLAKE");
  CHECK(blas_core_correction(intel_avx512(false), "Prescott") == "SKYLAKEX");
  CHECK(blas_core_correction(intel_avx512(false), "Core2") == "SKYLAKEX");
  CHECK(blas_core_correction(intel_avx512(true), "SkylakeX") == std::nullopt);  // an AVX-512 core: kept
  CHECK(blas_core_correction(intel_avx512(true), "Haswell") == std::nullopt);   // an AVX2 core: kept
  // An AMD Zen that OpenBLAS knows: no change; one it does not: its Zen kernels.
  CHECK(blas_core_correction(amd_zen(0x19), "Zen") == std::nullopt);
  CHECK(blas_core_correction(amd_zen(0x19), "Barcelona") == "ZEN");
  CHECK(blas_core_correction(amd_zen(0x1a), "Prescott") == "ZEN");
  CHECK(blas_core_correction(amd_zen(0x15), "Bulldozer") == "HASWELL");  // AVX2 before Zen: not a Zen
  // An Intel AVX2 CPU OpenBLAS calls Sandybridge (AVX only): its Haswell kernels.
  CpuFeatures avx2 = amd_zen(6);
  avx2.vendor = "GenuineIntel";
  CHECK(blas_core_correction(avx2, "Sandybridge") == "HASWELL");
  CHECK(blas_core_correction(avx2, "haswell") == std::nullopt);  // names compare without case
  // A CPU without AVX2 (or without FMA): nothing better to choose.
  CpuFeatures old;
  old.vendor = "GenuineIntel";
  old.family = 6;
  old.avx = true;
  CHECK(blas_core_correction(old, "Sandybridge") == std::nullopt);
  CHECK(blas_core_correction(old, "Prescott") == std::nullopt);
  CpuFeatures no_fma = avx2;
  no_fma.fma = false;
  CHECK(blas_core_correction(no_fma, "Prescott") == std::nullopt);
  CHECK(blas_core_correction(CpuFeatures{}, "Unknown") == std::nullopt);  // not x86
}

TEST_CASE("the OpenBLAS core in use is not a generic one on a CPU with AVX2") {
  const BlasInfo info = blas_info();
  MESSAGE("CPU: ", host_cpu().model_name, " (", host_cpu().flags(), "); OpenBLAS core: ", info.core,
          info.corrected_from.empty() ? "" : " (corrected from " + info.corrected_from + ")");
  if (!info.coretype.empty() && info.corrected_from.empty()) {
    MESSAGE("skipped: OPENBLAS_CORETYPE=", info.coretype, " was set by the user");
    return;
  }
  if (host_cpu().avx2 && host_cpu().fma)
    CHECK(blas_core_uses_avx2(info.core));
  else
    CHECK(!blas_core_correction(host_cpu(), info.core));
}

TEST_CASE("instruction-set levels: names, what the CPU supports, a level it lacks is a clear error") {
  CHECK(parse_isa("avx2") == Isa::Avx2);
  CHECK_THROWS_WITH_AS(parse_isa("sse9"), doctest::Contains("expected baseline, avx2 or avx512"), Error);
  CHECK(best_isa(CpuFeatures{}) == Isa::Baseline);
  CHECK(cpu_supports(amd_zen(0x19), Isa::Avx2));
  CHECK(!cpu_supports(amd_zen(0x19), Isa::Avx512));
  CHECK(cpu_supports(intel_avx512(true), Isa::Avx512));
  CpuFeatures partial = intel_avx512(false);
  partial.avx512vl = false;  // F without VL (Knights Landing): not our AVX-512 level
  CHECK(!cpu_supports(partial, Isa::Avx512));
  if (isa_built(Isa::Avx2)) CHECK(best_isa(intel_avx512(false)) == Isa::Avx512);
  const std::vector<Isa> here = runnable_isas();
  REQUIRE(!here.empty());
  CHECK(here.front() == Isa::Baseline);
  CHECK(best_isa(host_cpu()) == here.back());
  MESSAGE("levels runnable here: ", here.size(), ", the best ", std::string(isa_name(here.back())),
          "; active: ", std::string(isa_name(active_isa())));
  for (Isa isa : {Isa::Avx2, Isa::Avx512})
    if (!(isa_built(isa) && cpu_supports(host_cpu(), isa)))
      CHECK_THROWS_WITH_AS(set_active_isa(isa), doctest::Contains("cannot run the"), Error);
}

namespace {

// Random values in [-2, 2), some exactly 0 and some NaN (every kernel must pass NaN through the
// same way at every width).
template <typename T>
std::vector<T> values(int64_t count, Generator& gen, bool with_nan) {
  const Tensor t = rand({count}, -2, 2, DType::Float64, Device::cpu(), gen);
  std::vector<T> out;
  for (double v : t.to_vector<double>()) out.push_back(T(v));
  for (size_t i = 3; i < out.size(); i += 17) out[i] = T(0);
  if (with_nan)
    for (size_t i = 5; i < out.size(); i += 41) out[i] = T(NAN);
  return out;
}

template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Every kernel of `level` against the baseline's on lengths around each vector width and at an
// unaligned start (offset 1): the same bits.
template <typename T>
void check_level(const VectorOps<T>& level, const VectorOps<T>& base) {
  Generator gen(7);
  for (int64_t count : {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1003}) {
    CAPTURE(count);
    const std::vector<T> a0 = values<T>(count + 1, gen, true), b0 = values<T>(count + 1, gen, false);
    const T* a = a0.data() + 1;  // unaligned
    const T* b = b0.data() + 1;
    std::vector<T> x(static_cast<size_t>(count)), y(static_cast<size_t>(count));
    for (UnaryOp op : {UnaryOp::Neg, UnaryOp::Exp, UnaryOp::Log, UnaryOp::Sqrt, UnaryOp::Relu, UnaryOp::Sigmoid,
                       UnaryOp::Silu, UnaryOp::Pow, UnaryOp::Clamp}) {
      CAPTURE(op_name(op));
      level.unary(op, a, x.data(), count, T(1.7), T(0.5));
      base.unary(op, a, y.data(), count, T(1.7), T(0.5));
      CHECK(same_bits(x, y));
    }
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Eq, BinaryOp::Gt,
                        BinaryOp::Ge, BinaryOp::Lt, BinaryOp::Le})
      for (bool scalar : {false, true}) {
        CAPTURE(op_name(op));
        level.binary(op, a, b, scalar, x.data(), count);
        base.binary(op, a, b, scalar, y.data(), count);
        CHECK(same_bits(x, y));
      }
    CHECK(same_bits(level.sum(b, count), base.sum(b, count)));
    double s1 = 0.5, q1 = 0.25, s2 = 0.5, q2 = 0.25;
    level.shifted_sums(b, count, 0.3, s1, q1);
    base.shifted_sums(b, count, 0.3, s2, q2);
    CHECK((same_bits(s1, s2) && same_bits(q1, q2)));
    for (bool relu : {false, true}) {
      level.affine(a, x.data(), count, T(1.3), T(-0.2), relu);
      base.affine(a, y.data(), count, T(1.3), T(-0.2), relu);
      CHECK(same_bits(x, y));
    }
    level.relu_mask(a, b, x.data(), count);
    base.relu_mask(a, b, y.data(), count);
    CHECK(same_bits(x, y));
    level.grad_sums(b, a, count, 0.1, s1, q1);
    base.grad_sums(b, a, count, 0.1, s2, q2);
    CHECK(same_bits(s1, s2));
    CHECK((same_bits(q1, q2) || (q1 != q1 && q2 != q2)));  // a's NaNs make sum_gd NaN at both
    level.grad_affine(b, a, x.data(), count, T(0.9), T(-0.4), T(0.05), T(0.01));
    base.grad_affine(b, a, y.data(), count, T(0.9), T(-0.4), T(0.05), T(0.01));
    CHECK(same_bits(x, y));
    std::vector<T> w[4];
    for (auto& out : w) out.resize(static_cast<size_t>(count));
    std::vector<T> z[4] = {w[0], w[1], w[2], w[3]};
    if (count > 1) {
      level.winograd_input(a, b, a + 1, b + 1, w[0].data(), w[1].data(), w[2].data(), w[3].data(), count - 1);
      base.winograd_input(a, b, a + 1, b + 1, z[0].data(), z[1].data(), z[2].data(), z[3].data(), count - 1);
      level.winograd_output(b, a, b + 1, a + 1, w[0].data(), w[1].data(), count - 1);
      base.winograd_output(b, a, b + 1, a + 1, z[0].data(), z[1].data(), count - 1);
    }
    for (int i = 0; i < 4; ++i) CHECK(same_bits(w[i], z[i]));
    UpdateRule adam{UpdateRule::Kind::Adam, 1e-3, 1e-4, 0, 0.9, 0.999, 1e-8, 0.19, 0.002};
    UpdateRule sgd{UpdateRule::Kind::Sgd, 1e-2, 0, 0.9};
    for (const UpdateRule& rule : {adam, sgd}) {
      std::vector<T> p1(b, b + count), m1(a0.begin() + 1, a0.end()), v1(static_cast<size_t>(count), T(0.01));
      std::vector<T> p2 = p1, m2 = m1, v2 = v1;
      level.update(rule, p1.data(), b, m1.data(), v1.data(), count);
      base.update(rule, p2.data(), b, m2.data(), v2.data(), count);
      CHECK((same_bits(p1, p2) && same_bits(m1, m2) && same_bits(v1, v2)));
    }
  }
}

void check_level(Isa isa) {
  const VectorKernels &table = vector_kernels_at(isa), &base = vector_kernels_at(Isa::Baseline);
  CHECK(std::string(table.isa) == isa_name(isa));
  check_level(table.f32, base.f32);
  check_level(table.f64, base.f64);
}

bool runnable(Isa isa) { return isa_built(isa) && cpu_supports(host_cpu(), isa); }

}  // namespace

TEST_CASE("vector kernels at avx2: the same bits as the baseline" * doctest::skip(!runnable(Isa::Avx2))) {
  check_level(Isa::Avx2);
}

TEST_CASE("vector kernels at avx512: the same bits as the baseline" * doctest::skip(!runnable(Isa::Avx512))) {
  check_level(Isa::Avx512);
}
