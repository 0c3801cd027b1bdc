// The Extism kernel as a wasm module: kernel memory is its memory, and its exports are the
// `extism:host/env` functions that are pure memory work (alloc, free, length, load/store,
// input_*), which a plugin's imports call directly, wasm to wasm (Linker::define_instance),
// instead of through a host function (~3 ns against ~60 on V8). The host side (Kernel) reads
// and writes the same memory through KernelLayout, which mirrors the module's layout:
//
//   [0, 8)                 never a block: handle 0 is null
//   [8, top)               blocks, back to back, in the order they were first allocated
//   [top, top + 8)         slack: PDKs copy whole 8-byte words, also past a block's end
//   ...                    free (zero)
//   records                one per block, 16 bytes, the first one highest:
//                          offset u32, capacity u32, length u32, live u32
//   control (last 64 B)    top, record count, freed records, input length, input handle,
//                          cap (max_memory_bytes), each a u64
//
// Loads and stores reach [0, top + 8) only, so a plugin cannot touch the records or the
// control block; the host wipes [0, top + 8) when a call begins (Kernel::begin_call).
//
//   const wasm::LinkedModule& kernel = kernel_module(engine);   // compiled once per engine
//   linker.define_instance("extism:host/env", kernel);
//   KernelLayout layout(instance.linked_instance("extism:host/env")->memory().data());
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "warmpool/wasm/engine.hpp"
#include "warmpool/wasm/linker.hpp"

namespace warmpool::extism::internal {

// The kernel module for `engine`, compiled and linked once per process.
const wasm::LinkedModule& kernel_module(wasm::Engine engine);

// The host's view of kernel memory (see the header comment); valid until the memory grows.
class KernelLayout {
 public:
  static constexpr std::uint64_t kFirstBlock = 8;
  static constexpr std::uint64_t kSlack = 8;
  static constexpr std::uint64_t kControlBytes = 64;
  static constexpr std::uint64_t kRecordBytes = 16;

  explicit KernelLayout(std::span<std::uint8_t> memory) noexcept : memory_(memory) {}

  std::span<std::uint8_t> memory() const noexcept { return memory_; }

  std::uint64_t top() const noexcept { return field(0); }
  std::uint64_t records() const noexcept { return field(8); }
  std::uint64_t input_length() const noexcept { return field(24); }
  std::uint64_t input_handle() const noexcept { return field(32); }
  // Loads and stores reach below this.
  std::uint64_t bound() const noexcept { return top() + kSlack; }

  // The live block's length at `handle`, 0 when it is no block's start or not live.
  std::uint64_t length(std::uint64_t handle) const noexcept;
  // Marks the live block at `handle` freed (the input's block ends the input too).
  void free(std::uint64_t handle) noexcept;
  // A new block at the top when it fits without the kernel growing its memory and no freed
  // block could be reused; else 0 (the kernel's alloc then decides).
  std::uint64_t allocate_at_top(std::uint64_t n) noexcept;
  // Wipes what the last call used and starts an empty one holding no blocks.
  void begin(std::uint64_t cap) noexcept;
  // Makes block `handle` the call's input (`length` bytes, already written).
  void set_input(std::uint64_t handle, std::uint64_t length) noexcept;

 private:
  std::uint64_t control() const noexcept { return memory_.size() - kControlBytes; }
  std::uint64_t field(std::uint64_t at) const noexcept {
    std::uint64_t value;
    std::memcpy(&value, memory_.data() + control() + at, sizeof value);
    return value;
  }
  void set_field(std::uint64_t at, std::uint64_t value) noexcept {
    std::memcpy(memory_.data() + control() + at, &value, sizeof value);
  }
  std::uint8_t* record(std::uint64_t index) const noexcept {
    return memory_.data() + control() - kRecordBytes * (index + 1);
  }
  static std::uint32_t word(const std::uint8_t* at) noexcept {
    std::uint32_t value;
    std::memcpy(&value, at, sizeof value);
    return value;
  }
  static void set_word(std::uint8_t* at, std::uint32_t value) noexcept {
    std::memcpy(at, &value, sizeof value);
  }
  // The record of the block starting at `handle`, or null.
  std::uint8_t* find(std::uint64_t handle) const noexcept;

  std::span<std::uint8_t> memory_;
};

}  // namespace warmpool::extism::internal
