// The thread pool behind rg::parallel_for (tensor/parallel.h).
//
// One job at a time. The job is published in one 64-bit word, the ticket:
//   bits 32-63: generation (one per job)   bits 16-31: chunk count   bits 0-15: next chunk to take
// A thread takes chunk `next` by a compare-and-swap of the ticket to next + 1: it succeeds only if
// the ticket still names the same job, so a thread that wakes up after its job is done claims
// nothing and is never waited for. Each finished chunk adds one to `done_`; the caller returns
// when done_ reaches the chunk count. Idle workers spin for a short while (a training step runs
// thousands of jobs a few microseconds apart), then sleep on a condition variable.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "tensor/error.h"
#include "tensor/parallel.h"

namespace rg {

namespace {

constexpr int64_t kChunksPerThread = 4;  // spare chunks, so a stalled thread's share is taken by the others
constexpr auto kSpin = std::chrono::microseconds(200);

thread_local bool tls_in_job = false;  // running a chunk: a nested parallel_for runs serially

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

class ThreadPool {
 public:
  explicit ThreadPool(int threads) { start(threads); }

  int threads() const { return int(workers_.size()) + 1; }

  void resize(int threads) {
    std::lock_guard<std::mutex> job(job_mutex_);
    stop();
    start(threads);
  }

  void run(int64_t n, int64_t grain, detail::ChunkFn fn, void* body) {
    const int64_t chunks =
        std::min({n / std::max<int64_t>(grain, 1), int64_t(threads()) * kChunksPerThread, int64_t(0xffff)});
    std::unique_lock<std::mutex> job(job_mutex_, std::defer_lock);
    if (chunks <= 1 || tls_in_job || workers_.empty() || !job.try_lock()) {
      fn(body, 0, n);
      return;
    }
    done_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    fn_.store(fn, std::memory_order_relaxed);
    body_.store(body, std::memory_order_relaxed);
    n_.store(n, std::memory_order_relaxed);
    const uint64_t generation = (ticket_.load(std::memory_order_relaxed) >> 32) + 1;
    ticket_.store(generation << 32 | uint64_t(chunks) << 16);  // seq_cst: pairs with the sleepers' check
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      wake_.notify_all();
    }
    tls_in_job = true;
    while (take_chunk()) {}
    tls_in_job = false;
    for (int spins = 0; done_.load(std::memory_order_acquire) < chunks; ++spins) {
      if (spins < 4096)
        cpu_relax();
      else
        std::this_thread::yield();  // a chunk's thread was descheduled: let it run
    }
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Takes and runs one chunk of the current job; false when none is left.
  bool take_chunk() {
    uint64_t ticket = ticket_.load(std::memory_order_acquire);
    for (;;) {
      const int64_t next = int64_t(ticket & 0xffff), chunks = int64_t(ticket >> 16 & 0xffff);
      if (next >= chunks) return false;
      // Read before the claim; valid if the claim succeeds (the job cannot change while it has chunks left).
      const detail::ChunkFn fn = fn_.load(std::memory_order_relaxed);
      void* body = body_.load(std::memory_order_relaxed);
      const int64_t n = n_.load(std::memory_order_relaxed);
      if (!ticket_.compare_exchange_weak(ticket, ticket + 1, std::memory_order_acq_rel, std::memory_order_acquire))
        continue;
      try {
        fn(body, n * next / chunks, n * (next + 1) / chunks);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
      done_.fetch_add(1, std::memory_order_release);
      return true;
    }
  }

  bool has_chunk() const {
    const uint64_t ticket = ticket_.load();
    return (ticket & 0xffff) < (ticket >> 16 & 0xffff);
  }

  void work() {
    tls_in_job = true;
    auto last_work = std::chrono::steady_clock::now();
    while (!stopping_.load(std::memory_order_acquire)) {
      if (take_chunk()) {
        last_work = std::chrono::steady_clock::now();
        continue;
      }
      if (std::chrono::steady_clock::now() - last_work < kSpin) {
        for (int i = 0; i < 64; ++i) cpu_relax();
        continue;
      }
      std::unique_lock<std::mutex> lock(sleep_mutex_);
      sleepers_.fetch_add(1);  // seq_cst: either run() sees a sleeper or this sees the new ticket
      wake_.wait(lock, [&] { return stopping_.load() || has_chunk(); });
      sleepers_.fetch_sub(1);
      last_work = std::chrono::steady_clock::now();
    }
  }

  void start(int threads) {
    RG_CHECK(threads >= 1, "set_num_threads: expected at least 1 thread, got ", threads);
    stopping_ = false;
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      stopping_ = true;
      wake_.notify_all();
    }
    for (std::thread& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex job_mutex_;  // held by the thread whose job runs
  std::atomic<uint64_t> ticket_{0};
  std::atomic<detail::ChunkFn> fn_{nullptr};
  std::atomic<void*> body_{nullptr};
  std::atomic<int64_t> n_{0};
  std::atomic<int64_t> done_{0};
  std::mutex error_mutex_;
  std::exception_ptr error_;
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
};

ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool(default_threads());  // never destroyed: kernels may run during exit
  return *p;
}

}  // namespace

int num_threads() { return pool().threads(); }

void set_num_threads(int n) {
  if (n != num_threads()) pool().resize(n);
}

namespace detail {
void parallel_run(int64_t n, int64_t grain, ChunkFn fn, void* body) { pool().run(n, grain, fn, body); }
}  // namespace detail

}  // namespace rg
