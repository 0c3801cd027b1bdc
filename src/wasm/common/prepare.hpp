// wasm/common/prepare.hpp — internal: turns user bytes into the module an engine loads.
//
// Both engines run the same pass once per Module::compile: parse (.wasm binary
// or .wat text), validate, and, depending on the limits, rewrite the module so
// limits hold inside any engine:
//   - fuel/timeout: a mutable i64 global exported as `__warmpool_fuel` is
//     decremented at every function entry and loop header; when it goes
//     negative the guest calls the import `warmpool.out_of_fuel` ([] -> [i64])
//     and adds the returned slice. The host traps from inside that import when
//     the call's budget is spent or its deadline passed (see fuel.hpp).
//   - max_memory_pages: the memory's maximum becomes the cap, and every
//     `memory.grow` that fails sets the exported i32 global
//     `__warmpool_grow_failed` to 1, so the host can tell "trapped because the
//     cap refused memory" (ErrorKind::memory_limit) from any other trap.
//   - PrepareOptions::expose_state (V8 only; wabt reaches every global and
//     memory directly): every mutable global and memory 0 are also exported
//     under reserved `__warmpool_` names, so a host that sees only exports can
//     snapshot and restore them in place (see ExposedState). Memory 0 is
//     exported as `__warmpool_memory` even when the rest cannot be restored,
//     so host functions can reach it.
//
// Its steps: prepare_parse.hpp reads the bytes without letting wabt abort on
// hostile input, prepare_rewrite.hpp makes the rewrites above.
//
//   auto prepared = internal::prepare_module(bytes, limits, "fib.wasm");
//   if (!prepared) return std::unexpected(prepared.error());
//   engine_load(prepared->binary);
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "warmpool/wasm/error.hpp"
#include "warmpool/wasm/types.hpp"

namespace warmpool::wasm::internal {

// Names the pass adds. Inputs may not use the `warmpool` import module or
// exports starting with `__warmpool`: they are reserved.
inline constexpr std::string_view kMeteringModule = "warmpool";
inline constexpr std::string_view kOutOfFuelImport = "out_of_fuel";
inline constexpr std::string_view kFuelGlobalExport = "__warmpool_fuel";
inline constexpr std::string_view kGrowFailedGlobalExport = "__warmpool_grow_failed";
inline constexpr std::string_view kReservedExportPrefix = "__warmpool";
// With PrepareOptions::expose_state: `__warmpool_global_<index>` and `__warmpool_memory`.
inline constexpr std::string_view kStateGlobalExportPrefix = "__warmpool_global_";
inline constexpr std::string_view kStateMemoryExport = "__warmpool_memory";

struct PrepareOptions {
  bool expose_state = false;
};

// The module's mutable state as exports, and what its code can do to that
// state beyond memory and globals. Empty unless PrepareOptions::expose_state;
// the names stay empty unless restorable_in_place().
struct ExposedState {
  std::vector<std::string> globals;  // every mutable global the module defines
  std::string memory;                // memory 0; empty when there is none
  // Code contains table.set, table.grow, table.fill, table.copy or table.init:
  // without them tables keep their post-instantiation entries forever.
  bool tables_written = false;
  // Code contains data.drop or elem.drop: a dropped passive segment cannot be
  // restored through exports.
  bool drops_segments = false;
  // Every global has a type JavaScript can read and write (no v128) and the
  // module defines at most one memory.
  bool restorable = true;

  // Restoring memory 0 and the globals puts the whole post-instantiation
  // state back.
  bool restorable_in_place() const { return restorable && !tables_written && !drops_segments; }
};

struct PreparedModule {
  std::vector<std::uint8_t> binary;        // what the engine loads
  std::vector<ExportedFunction> exports;   // exported functions, reserved ones hidden
  std::vector<ImportType> imports;         // the module's own, without the metering import
  bool metered = false;                    // imports warmpool.out_of_fuel, exports the fuel global
  bool grow_tracked = false;               // exports __warmpool_grow_failed
  std::uint32_t initial_memory_pages = 0;  // of memory 0 (0 when there is none)
  ExposedState state;
};

// Errors: ErrorKind::compile with wabt's diagnostics prefixed by `name`;
// ErrorKind::memory_limit when the module's initial memory already exceeds
// limits.max_memory_pages.
std::expected<PreparedModule, WasmError> prepare_module(std::span<const std::uint8_t> wasm_or_wat,
                                                        const Limits& limits, std::string_view name,
                                                        const PrepareOptions& options = {});

// True when `bytes` starts with the binary magic "\0asm".
bool is_wasm_binary(std::span<const std::uint8_t> bytes) noexcept;

}  // namespace warmpool::wasm::internal
