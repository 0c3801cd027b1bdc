#include "wasm/common/memory_snapshot.hpp"

#include <algorithm>
#include <cstring>

namespace warmpool::wasm::internal {
namespace {

alignas(64) constexpr std::uint8_t kZeroChunk[MemorySnapshot::kChunk] = {};

}  // namespace

void MemorySnapshot::capture(const std::uint8_t* data, std::size_t size) {
  size_ = size;
  chunks_.clear();
  saved_.clear();
  chunks_.reserve((size + kChunk - 1) / kChunk);
  for (std::size_t at = 0; at < size; at += kChunk) {
    const std::size_t n = std::min(kChunk, size - at);
    if (std::memcmp(data + at, kZeroChunk, n) == 0) {
      chunks_.push_back(kZero);
    } else {
      chunks_.push_back(saved_.size());
      saved_.insert(saved_.end(), data + at, data + at + n);
    }
  }
}

void MemorySnapshot::restore(std::uint8_t* data) const {
  for (std::size_t c = 0; c < chunks_.size(); ++c) {
    std::uint8_t* live = data + c * kChunk;
    const std::size_t n = std::min(kChunk, size_ - c * kChunk);
    const std::uint8_t* saved = chunks_[c] == kZero ? kZeroChunk : saved_.data() + chunks_[c];
    if (std::memcmp(live, saved, n) != 0) std::memcpy(live, saved, n);
  }
}

}  // namespace warmpool::wasm::internal
