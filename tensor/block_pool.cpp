#include "tensor/block_pool.h"

#include <algorithm>

#include "tensor/error.h"

namespace rg {

BlockPool::~BlockPool() {
  for (auto& [ptr, block] : in_use_) delete block;
  for (auto& set : free_)
    for (auto& [size, block] : set) delete block;
}

void* BlockPool::allocate(size_t bytes) {
  if (!caching_) return allocate_uncached(bytes);
  const size_t size = std::max(kRound, (bytes + kRound - 1) / kRound * kRound);
  Block* block = take_free(size);
  if (!block) {
    const size_t segment = is_small(size) ? kSmallSegment : (size + kLargeRound - 1) / kLargeRound * kLargeRound;
    block = new Block{static_cast<char*>(grow_(segment)), segment, true};
    block->small = is_small(size);
    stats_.reserved_bytes += segment;
  }
  if (block->size - size >= (block->small ? kRound : kMinSplit)) split(block, size);
  block->free = false;
  block->requested = bytes;
  in_use_[block->ptr] = block;
  stats_.current_bytes += block->size;
  stats_.requested_bytes += bytes;
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.current_bytes);
  return block->ptr;
}

// A segment of exactly `bytes` (at least 1), so a memory checker sees where the tensor ends.
void* BlockPool::allocate_uncached(size_t bytes) {
  const size_t size = std::max<size_t>(bytes, 1);
  auto* block = new Block{static_cast<char*>(grow_(size)), size, false};
  block->requested = bytes;
  in_use_[block->ptr] = block;
  stats_.reserved_bytes += size;
  stats_.current_bytes += size;
  stats_.requested_bytes += bytes;
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.current_bytes);
  return block->ptr;
}

void BlockPool::deallocate(void* ptr) {
  auto it = in_use_.find(ptr);
  RG_CHECK(it != in_use_.end(), "caching allocator: free of ", ptr,
           ", which is not an allocated block (freed twice, or never allocated here)");
  Block* block = it->second;
  in_use_.erase(it);
  stats_.current_bytes -= block->size;
  stats_.requested_bytes -= block->requested;
  if (!caching_) {
    release_(block->ptr);
    stats_.reserved_bytes -= block->size;
    delete block;
    return;
  }
  block->free = true;
  Block* next = block->next;
  block = merge(block, block->prev);
  block = merge(block, next);
  free_set(block).insert({block->size, block});
}

void BlockPool::release_free_segments() {
  for (auto& set : free_)
    for (auto it = set.begin(); it != set.end();) {
      Block* block = it->second;
      if (block->prev || block->next) {  // part of a segment still in use
        ++it;
        continue;
      }
      release_(block->ptr);
      stats_.reserved_bytes -= block->size;
      delete block;
      it = set.erase(it);
    }
}

// The smallest free block that fits, from segments of the request's kind.
BlockPool::Block* BlockPool::take_free(size_t size) {
  auto& set = free_[is_small(size) ? 1 : 0];
  auto it = set.lower_bound({size, nullptr});
  if (it == set.end()) return nullptr;
  Block* block = it->second;
  set.erase(it);
  return block;
}

void BlockPool::split(Block* block, size_t size) {
  auto* rest = new Block{block->ptr + size, block->size - size, true, block, block->next};
  rest->small = block->small;
  if (block->next) block->next->prev = rest;
  block->next = rest;
  block->size = size;
  free_set(rest).insert({rest->size, rest});
}

// Joins `neighbour` into one block with `block` when it is free; returns the joined block.
BlockPool::Block* BlockPool::merge(Block* block, Block* neighbour) {
  if (!neighbour || !neighbour->free) return block;
  free_set(neighbour).erase({neighbour->size, neighbour});
  Block* first = neighbour == block->prev ? neighbour : block;
  Block* second = first == block ? neighbour : block;
  first->size += second->size;
  first->next = second->next;
  if (second->next) second->next->prev = first;
  delete second;
  return first;
}

}  // namespace rg
