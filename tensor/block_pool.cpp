#include "tensor/block_pool.h"

#include <algorithm>

#include "tensor/error.h"

namespace rg {

BlockPool::~BlockPool() {
  for (auto& [ptr, block] : in_use_) delete block;
  for (auto& [size, block] : free_) delete block;
}

void* BlockPool::allocate(size_t bytes) {
  const size_t size = std::max(kRound, (bytes + kRound - 1) / kRound * kRound);
  Block* block = take_free(size);
  if (!block) {
    const size_t segment = size <= kSmallSegment / 2 ? kSmallSegment : (size + kLargeRound - 1) / kLargeRound * kLargeRound;
    block = new Block{static_cast<char*>(grow_(segment)), segment, true};
    stats_.reserved_bytes += segment;
  }
  if (block->size - size >= (size <= kSmallSegment / 2 ? kRound : kMinSplit)) split(block, size);
  block->free = false;
  block->requested = bytes;
  in_use_[block->ptr] = block;
  stats_.current_bytes += block->size;
  stats_.requested_bytes += bytes;
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.current_bytes);
  return block->ptr;
}

void BlockPool::deallocate(void* ptr) {
  auto it = in_use_.find(ptr);
  RG_CHECK(it != in_use_.end(), "CUDA caching allocator: free of ", ptr,
           ", which is not an allocated block (freed twice, or never allocated here)");
  Block* block = it->second;
  in_use_.erase(it);
  stats_.current_bytes -= block->size;
  stats_.requested_bytes -= block->requested;
  block->free = true;
  Block* next = block->next;
  block = merge(block, block->prev);
  block = merge(block, next);
  free_.insert({block->size, block});
}

void BlockPool::release_free_segments() {
  for (auto it = free_.begin(); it != free_.end();) {
    Block* block = it->second;
    if (block->prev || block->next) {  // part of a segment still in use
      ++it;
      continue;
    }
    release_(block->ptr);
    stats_.reserved_bytes -= block->size;
    delete block;
    it = free_.erase(it);
  }
}

BlockPool::Block* BlockPool::take_free(size_t size) {
  auto it = free_.lower_bound({size, nullptr});
  if (it == free_.end()) return nullptr;
  Block* block = it->second;
  free_.erase(it);
  return block;
}

void BlockPool::split(Block* block, size_t size) {
  auto* rest = new Block{block->ptr + size, block->size - size, true, block, block->next};
  if (block->next) block->next->prev = rest;
  block->next = rest;
  block->size = size;
  free_.insert({rest->size, rest});
}

// Joins `neighbour` into one block with `block` when it is free; returns the joined block.
BlockPool::Block* BlockPool::merge(Block* block, Block* neighbour) {
  if (!neighbour || !neighbour->free) return block;
  free_.erase({neighbour->size, neighbour});
  Block* first = neighbour == block->prev ? neighbour : block;
  Block* second = first == block ? neighbour : block;
  first->size += second->size;
  first->next = second->next;
  if (second->next) second->next->prev = first;
  delete second;
  return first;
}

}  // namespace rg
