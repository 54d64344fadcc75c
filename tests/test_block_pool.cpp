// The caching allocators' block pool (tensor/block_pool.h), over host memory: splits, merges,
// counts. (The CPU allocator built on it: test_tensor.cpp.)
#include <doctest/doctest.h>

#include <cstdlib>
#include <set>

#include "tensor/block_pool.h"
#include "tensor/error.h"

using namespace rg;

namespace {

// A block pool over host memory, counting the segments it takes and gives back. The pool never
// frees segments still in use (the CUDA allocator's may outlive the GPU context), so the test
// frees whatever is left at the end.
struct HostPool {
  int grown = 0, released = 0;
  std::set<void*> segments;
  BlockPool pool{[this](size_t bytes) {
                   ++grown;
                   void* ptr = std::malloc(bytes);
                   segments.insert(ptr);
                   return ptr;
                 },
                 [this](void* ptr) {
                   ++released;
                   segments.erase(ptr);
                   std::free(ptr);
                 }};
  ~HostPool() {
    for (void* ptr : segments) std::free(ptr);
  }
};

}  // namespace

TEST_CASE("block pool: blocks are rounded, split from shared segments, reused and counted apart") {
  HostPool h;
  char* a = static_cast<char*>(h.pool.allocate(3000));  // 3072 bytes of a new 2 MiB segment
  CHECK(h.grown == 1);
  CHECK(h.pool.stats().requested_bytes == 3000);
  CHECK(h.pool.stats().current_bytes == 3072);
  CHECK(h.pool.stats().reserved_bytes == (2u << 20));
  char* b = static_cast<char*>(h.pool.allocate(100));  // the rest of the segment, split again
  CHECK(b == a + 3072);
  CHECK(h.grown == 1);
  h.pool.deallocate(a);
  CHECK(h.pool.stats().current_bytes == 512);
  CHECK(h.pool.stats().requested_bytes == 100);
  char* c = static_cast<char*>(h.pool.allocate(1000));  // the smallest free block that fits: a's
  CHECK(c == a);
  CHECK(h.pool.stats().peak_bytes == 3072 + 512);
  h.pool.reset_peak();
  CHECK(h.pool.stats().peak_bytes == 1024 + 512);

  // A large request gets its own segment, rounded to 2 MiB; a 1 MiB rest is split off and reused.
  char* big = static_cast<char*>(h.pool.allocate(5u << 20));
  CHECK(h.grown == 2);
  CHECK(h.pool.stats().reserved_bytes == (2u << 20) + (6u << 20));
  char* rest = static_cast<char*>(h.pool.allocate(1u << 20));
  CHECK(rest == big + (5u << 20));
  CHECK(h.grown == 2);
}

TEST_CASE("block pool: freed neighbours merge, whole free segments go back, bad frees are errors") {
  HostPool h;
  void* a = h.pool.allocate(4096);
  void* b = h.pool.allocate(4096);
  void* c = h.pool.allocate(4096);
  h.pool.deallocate(a);
  h.pool.deallocate(c);  // merges with the segment's free tail
  h.pool.release_free_segments();
  CHECK(h.released == 0);  // b still holds the segment
  h.pool.deallocate(b);    // a, b and the tail become one block: the whole segment
  CHECK(h.pool.free_blocks() == 1);
  CHECK(h.pool.stats().current_bytes == 0);
  CHECK(h.pool.stats().requested_bytes == 0);
  h.pool.release_free_segments();
  CHECK(h.released == 1);
  CHECK(h.pool.stats().reserved_bytes == 0);

  void* d = h.pool.allocate(64);
  h.pool.deallocate(d);
  CHECK_THROWS_WITH_AS(h.pool.deallocate(d), doctest::Contains("not an allocated block (freed twice"), Error);
  int not_ours = 0;
  CHECK_THROWS_WITH_AS(h.pool.deallocate(&not_ours), doctest::Contains("not an allocated block"), Error);
}
