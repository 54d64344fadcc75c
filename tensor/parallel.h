// The CPU's threads: one pool that every fast CPU kernel (and, through it, every GEMM) shares.
//
//   rg::parallel_for(n, grain, [&](int64_t begin, int64_t end) { for (i = begin..end) ... });
//
// [0, n) is cut into at most 4 chunks per thread, none smaller than `grain` items; the calling
// thread and the pool's workers take chunks one at a time until none is left. The call returns
// when every chunk has run. Why not OpenMP: an OpenMP region ends in a barrier that waits for every
// thread, so when another process takes a core, each of the thousands of regions in a training step
// waits for a descheduled thread to be scheduled again (DenseNet inference with one core busy: 1.3
// images/s with OpenMP, 5.5 with this pool; bench/RESULTS.md, "One thread pool").
// Here a thread that arrives late finds no chunk left and is not waited for; only a chunk that
// was started is.
//
// A parallel_for inside a chunk (or while another thread's parallel_for runs) runs serially on
// its caller, so kernels can call each other freely. Chunk boundaries depend only on n, grain and
// num_threads(), never on timing, so results are the same from run to run.
#pragma once

#include <algorithm>

#include <cstdint>
#include <type_traits>

namespace rg {

// The number of threads (the caller included). Default: OMP_NUM_THREADS when set, else the cores.
int num_threads();
// Resizes the pool (n >= 1). Not while a parallel_for runs.
void set_num_threads(int n);

namespace detail {
using ChunkFn = void (*)(void* body, int64_t begin, int64_t end);
void parallel_run(int64_t n, int64_t grain, ChunkFn fn, void* body);
}  // namespace detail

// body(begin, end) for chunks covering [0, n). An exception thrown by a chunk is rethrown here
// (the first one; the other chunks still run).
template <typename Body>
void parallel_for(int64_t n, int64_t grain, Body&& body) {
  if (n <= 0) return;
  detail::parallel_run(
      n, grain,
      [](void* b, int64_t begin, int64_t end) { (*static_cast<std::remove_reference_t<Body>*>(b))(begin, end); },
      const_cast<void*>(static_cast<const void*>(&body)));
}

// Below this many elements, threads cost more than they save.
constexpr int64_t kParallelGrain = 32768;

// The items a parallel_for chunk takes at least when each costs `work` elements: kParallelGrain
// elements' worth, at least one item.
inline int64_t grain_for(int64_t work) { return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work, 1)); }

}  // namespace rg
