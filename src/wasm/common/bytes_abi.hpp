// wasm/common/bytes_abi.hpp — internal: the plugin bytes ABI (docs/plugin-abi.md) in one place.
//
// A bytes export has type (i32 ptr, i32 len) -> i64; the host copies the input
// into memory it got from `wp_alloc`, and the i64 result packs the output as
// (out_ptr << 32) | out_len. Both engines use these helpers so they accept and
// reject exactly the same plugins with the same messages.
//
//   if (auto bad = internal::check_bytes_export(module.find_export(name), name, module.name()))
//     return std::unexpected(*bad);
//   auto out = internal::unpack_output(result_i64);
//   if (!internal::in_bounds(memory_size, out.ptr, out.len)) return abi_error(...);
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "warmpool/wasm/error.hpp"
#include "warmpool/wasm/types.hpp"
#include "wasm/common/text.hpp"

namespace warmpool::wasm::internal {

inline constexpr std::string_view kAllocExport = "wp_alloc";
inline constexpr std::string_view kFreeExport = "wp_free";
inline constexpr std::string_view kMemoryExport = "memory";
inline constexpr std::string_view kInitializeExport = "_initialize";

struct OutputRange {
  std::uint32_t ptr;
  std::uint32_t len;
};

constexpr OutputRange unpack_output(std::int64_t packed) noexcept {
  const auto bits = static_cast<std::uint64_t>(packed);
  return {static_cast<std::uint32_t>(bits >> 32), static_cast<std::uint32_t>(bits)};
}

constexpr bool in_bounds(std::uint64_t memory_size, std::uint64_t ptr, std::uint64_t len) noexcept {
  return ptr <= memory_size && len <= memory_size - ptr;
}

inline bool has_type(const ExportedFunction& f, std::initializer_list<ValueType> params,
                     std::initializer_list<ValueType> results) {
  return std::equal(f.type.params.begin(), f.type.params.end(), params.begin(), params.end()) &&
         std::equal(f.type.results.begin(), f.type.results.end(), results.begin(), results.end());
}

// nullopt when `f` (the export named `name`, null if missing) can be called
// with bytes; otherwise the ErrorKind::abi error naming the export.
inline std::optional<WasmError> check_bytes_export(const ExportedFunction* f, std::string_view name,
                                                   std::string_view module_name) {
  if (f == nullptr) return std::nullopt;  // the caller reports "not found" with the export list
  if (!has_type(*f, {ValueType::i32, ValueType::i32}, {ValueType::i64})) {
    return WasmError(ErrorKind::abi,
                     cat(module_name, ": export '", name,
                         "' is not a bytes export: its type must be (i32 ptr, i32 len) -> i64"));
  }
  return std::nullopt;
}

}  // namespace warmpool::wasm::internal
