// A linear memory's contents at one moment, kept as its non-zero 4 KiB chunks,
// and written back chunk by chunk, so a reset restores only what calls changed.
// Pages the kernel never backed are known to be zero without reading them
// (/proc/self/pagemap), so neither scan faults in the untouched part of a
// large memory.
// Both engines' reset() use it. Valid C++17: wabt's interpreter bridge
// (wasm/wabt/interp_engine.cpp) is built as C++17.
//
//   internal::MemorySnapshot snapshot;
//   snapshot.capture(data, size);                 // right after instantiation
//   ...                                           // calls
//   if (size == snapshot.size()) snapshot.restore(data);
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace warmpool::wasm::internal {

class MemorySnapshot {
 public:
  static constexpr std::size_t kChunk = 4096;

  void capture(const std::uint8_t* data, std::size_t size);
  // Every byte is compared with the snapshot (a hostile guest may write
  // anywhere, so no smaller bound is sound) except on pages the kernel never
  // backed, which read as zero; only chunks that differ are written; all-zero
  // chunks compare against a static zero block, so the scan reads the live
  // memory once. `data` must hold size() bytes.
  void restore(std::uint8_t* data) const;
  std::size_t size() const { return size_; }

  // Per chunk, true when its page was never backed (reads as zero without
  // being read); empty when unknown (small memory, no /proc/self/pagemap).
  static std::vector<bool> untouched_chunks(const std::uint8_t* data, std::size_t size);

 private:
  static constexpr std::size_t kZero = SIZE_MAX;  // the chunk was all zero
  std::size_t size_ = 0;
  std::vector<std::size_t> chunks_;  // per chunk: its first byte in saved_, or kZero
  std::vector<std::uint8_t> saved_;
};

}  // namespace warmpool::wasm::internal
