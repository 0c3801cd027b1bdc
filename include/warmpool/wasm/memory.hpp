// warmpool/wasm/memory.hpp — a guest's linear memory seen from the host, with
// every access bounds-checked.
//
// A MemoryView is a window on memory 0 of one instance, taken from
// `Instance::memory()` or, inside a host function, `Caller::memory()`.
//
// Invalidation rule: a view (and every span it returned) is valid until the
// instance next runs guest code or its memory grows — a call, a reset, or the
// host function that took it returning. Take a new view after either; never
// keep one across calls. (Growing may move the memory; a call may grow it.)
//
//   auto bytes = caller.memory().read(ptr, len);           // expected<span<const uint8_t>>
//   if (!bytes) return std::unexpected(bytes.error());
//   auto n = caller.memory().load<std::uint32_t>(ptr);     // little-endian, like wasm
//   caller.memory().write(out_ptr, std::as_bytes(...));
#pragma once

#include <cstdint>
#include <cstring>
#include <expected>
#include <span>
#include <string>
#include <type_traits>

#include "warmpool/wasm/error.hpp"

namespace warmpool::wasm {

class MemoryView {
 public:
  MemoryView() = default;
  explicit MemoryView(std::span<std::uint8_t> bytes) noexcept : bytes_(bytes) {}

  std::size_t size() const noexcept { return bytes_.size(); }
  // The whole memory, unchecked: for hosts that do their own bounds checks.
  std::span<std::uint8_t> data() const noexcept { return bytes_; }

  // [ptr, ptr + len), or an ErrorKind::trap error naming the range.
  std::expected<std::span<std::uint8_t>, WasmError> span(std::uint64_t ptr,
                                                         std::uint64_t len) const {
    if (ptr > bytes_.size() || len > bytes_.size() - ptr)
      return std::unexpected(out_of_bounds(ptr, len));
    return bytes_.subspan(static_cast<std::size_t>(ptr), static_cast<std::size_t>(len));
  }
  std::expected<std::span<const std::uint8_t>, WasmError> read(std::uint64_t ptr,
                                                               std::uint64_t len) const {
    return span(ptr, len);
  }
  std::expected<void, WasmError> write(std::uint64_t ptr,
                                       std::span<const std::uint8_t> bytes) const {
    auto target = span(ptr, bytes.size());
    if (!target) return std::unexpected(target.error());
    if (!bytes.empty()) std::memcpy(target->data(), bytes.data(), bytes.size());
    return {};
  }

  // A number at `ptr`, in wasm's (and every supported host's) little-endian order.
  template <class T>
  requires std::is_arithmetic_v<T> std::expected<T, WasmError> load(std::uint64_t ptr)
  const {
    auto source = span(ptr, sizeof(T));
    if (!source) return std::unexpected(source.error());
    T value;
    std::memcpy(&value, source->data(), sizeof(T));
    return value;
  }
  template <class T>
  requires std::is_arithmetic_v<T> std::expected<void, WasmError> store(std::uint64_t ptr, T value)
  const {
    auto target = span(ptr, sizeof(T));
    if (!target) return std::unexpected(target.error());
    std::memcpy(target->data(), &value, sizeof(T));
    return {};
  }

 private:
  WasmError out_of_bounds(std::uint64_t ptr, std::uint64_t len) const {
    return {ErrorKind::trap, "memory access [" + std::to_string(ptr) + ", " +
                                 std::to_string(ptr + len) + ") outside memory of " +
                                 std::to_string(bytes_.size()) + " bytes"};
  }

  std::span<std::uint8_t> bytes_;
};

}  // namespace warmpool::wasm
