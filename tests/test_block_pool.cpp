// The caching allocators' block pool (tensor/block_pool.h), over host memory: splits, merges,
// counts. (The CPU allocator built on it: test_tensor.cpp.)
#include <doctest/doctest.h>

#include <cstdlib>
#include <set>
#include <vector>

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

  // A large request gets its own segment, rounded to 2 MiB; a rest of 1 MiB or more is split off
  // and serves the next large request.
  char* big = static_cast<char*>(h.pool.allocate(5u << 19));  // 2.5 MiB of a 4 MiB segment
  CHECK(h.grown == 2);
  CHECK(h.pool.stats().reserved_bytes == (2u << 20) + (4u << 20));
  char* rest = static_cast<char*>(h.pool.allocate(5u << 18));  // 1.25 MiB
  CHECK(rest == big + (5u << 19));
  CHECK(h.grown == 2);
}

TEST_CASE("block pool: small requests never come out of large segments, nor large ones out of small") {
  HostPool h;
  void* big = h.pool.allocate(8u << 20);
  h.pool.deallocate(big);  // a free 8 MiB segment
  void* small = h.pool.allocate(1000);
  CHECK(h.grown == 2);                      // a small segment of its own
  CHECK(h.pool.allocate(8u << 20) == big);  // the large segment, whole
  CHECK(h.grown == 2);
  h.pool.deallocate(small);                         // a free 2 MiB small segment
  void* large = h.pool.allocate((1u << 20) + 512);  // just over 1 MiB: large
  CHECK(h.grown == 3);
  h.pool.deallocate(large);
  h.pool.release_free_segments();
  CHECK(h.released == 2);  // both free segments, small and large
}

TEST_CASE("block pool without caching: one segment of the exact size per request, given back when freed") {
  int grown = 0, released = 0;
  std::vector<size_t> sizes;
  BlockPool pool(
      [&](size_t bytes) {
        ++grown;
        sizes.push_back(bytes);
        return std::malloc(bytes);
      },
      [&](void* ptr) {
        ++released;
        std::free(ptr);
      },
      /*caching=*/false);
  void* a = pool.allocate(1000);
  void* b = pool.allocate(3u << 20);
  CHECK(sizes == std::vector<size_t>{1000, 3u << 20});
  CHECK(pool.stats().current_bytes == 1000 + (3u << 20));
  CHECK(pool.stats().requested_bytes == 1000 + (3u << 20));
  pool.deallocate(a);
  CHECK(released == 1);
  CHECK(pool.stats().reserved_bytes == (3u << 20));
  void* c = pool.allocate(1000);
  CHECK(grown == 3);  // never reused
  pool.deallocate(b);
  pool.deallocate(c);
  CHECK(released == 3);
  CHECK_THROWS_WITH_AS(pool.deallocate(b), doctest::Contains("not an allocated block"), Error);
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
