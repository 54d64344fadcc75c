// The CPU thread pool (tensor/parallel.h) and the GEMM split over it (tensor/cpu/gemm.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tensor/cpu/gemm.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace rg;

namespace {

// Restores the thread count at the end of a test.
struct ThreadsGuard {
  int saved = num_threads();
  ~ThreadsGuard() { set_num_threads(saved); }
};

}  // namespace

TEST_CASE("parallel_for: every index exactly once, in chunks of at least the grain, for any thread count") {
  ThreadsGuard guard;
  for (int threads : {1, 2, 3, 8}) {
    set_num_threads(threads);
    CHECK(num_threads() == threads);
    for (int64_t n : {1, 7, 100, 1000, 100000}) {
      for (int64_t grain : {1, 16, 5000}) {
        std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
        std::atomic<int64_t> smallest{n};
        parallel_for(n, grain, [&](int64_t begin, int64_t end) {
          REQUIRE(begin < end);
          int64_t size = end - begin, was = smallest.load();
          while (size < was && !smallest.compare_exchange_weak(was, size)) {}
          for (int64_t i = begin; i < end; ++i) seen[size_t(i)]++;
        });
        for (int64_t i = 0; i < n; ++i) REQUIRE(seen[size_t(i)] == 1);
        CHECK(smallest.load() >= std::min(n, grain));
      }
    }
  }
}

TEST_CASE("parallel_for: a nested call runs, serially, inside its chunk; so does a call from another thread") {
  ThreadsGuard guard;
  set_num_threads(2);
  std::atomic<int64_t> total{0};
  parallel_for(64, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) parallel_for(1000, 10, [&](int64_t b2, int64_t e2) { total += e2 - b2; });
  });
  CHECK(total == 64 * 1000);

  // Two threads calling at once: one gets the pool, the other runs its loop itself; both complete.
  std::atomic<int64_t> a{0}, b{0};
  std::thread other([&] {
    for (int r = 0; r < 200; ++r) parallel_for(5000, 100, [&](int64_t x, int64_t y) { a += y - x; });
  });
  for (int r = 0; r < 200; ++r) parallel_for(5000, 100, [&](int64_t x, int64_t y) { b += y - x; });
  other.join();
  CHECK(a == 200 * 5000);
  CHECK(b == 200 * 5000);
}

TEST_CASE("parallel_for: an exception in a chunk reaches the caller, after the other chunks ran; the pool goes on") {
  ThreadsGuard guard;
  set_num_threads(2);
  std::atomic<int64_t> ran{0};
  CHECK_THROWS_WITH_AS(parallel_for(100, 1,
                                    [&](int64_t b, int64_t e) {
                                      ran += e - b;
                                      if (b == 0) throw std::runtime_error("chunk 0 failed");
                                    }),
                       "chunk 0 failed", std::runtime_error);
  CHECK(ran == 100);
  std::atomic<int64_t> after{0};
  parallel_for(100, 1, [&](int64_t b, int64_t e) { after += e - b; });
  CHECK(after == 100);
  CHECK_THROWS_WITH(set_num_threads(0), doctest::Contains("at least 1 thread"));
}

TEST_CASE("gemm split over the pool equals the plain product (all four transpositions, both split directions)") {
  ThreadsGuard guard;
  set_num_threads(3);
  Generator gen(4);
  // (m, n, k): wide (split by columns) and tall (split by rows), both over several blocks.
  for (auto [m, n, k] : {std::array<int64_t, 3>{37, 700, 50}, std::array<int64_t, 3>{600, 45, 70}}) {
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const std::vector<double> a = rand({m * k}, -1, 1, DType::Float64, Device::cpu(), gen).to_vector<double>();
        const std::vector<double> b = rand({k * n}, -1, 1, DType::Float64, Device::cpu(), gen).to_vector<double>();
        std::vector<double> c(size_t(m * n), 1.0);
        const int64_t lda = ta ? m : k, ldb = tb ? k : n;
        cpu::gemm<double>(ta, tb, m, n, k, 2.0, a.data(), lda, b.data(), ldb, 0.5, c.data(), n);
        double worst = 0;
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double want = 0.5;
            for (int64_t p = 0; p < k; ++p)
              want += 2.0 * (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            worst = std::max(worst, std::abs(c[i * n + j] - want));
          }
        INFO("m=", m, " n=", n, " k=", k, " ta=", ta, " tb=", tb);
        CHECK(worst < 1e-12);
      }
  }
}
