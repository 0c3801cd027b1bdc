// wasm/wabt/module_impl.hpp — internal: what a compiled wabt Module holds.
//
// The prepared binary is decoded into a wabt interp module once; every
// Instance instantiates it in its own store. Import bindings and export
// positions are resolved here so that instantiation and calls do no name
// lookups beyond the export itself.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "warmpool/wasm/wabt.hpp"
#include "wasm/common/wasi.hpp"
#include "wasm/wabt/interp_engine.hpp"

namespace warmpool::wasm::wabt {

struct Module::Impl {
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  // An export warmpool can call: its entry in `exports` and its position in
  // the engine's export list.
  struct Found {
    const ExportedFunction* function;
    std::uint32_t position;
  };

  std::optional<Found> find(std::string_view export_name) const {
    auto it = functions.find(export_name);
    if (it == functions.end()) return std::nullopt;
    return Found{&exports[it->second.first], it->second.second};
  }

  // "fib.wasm: export 'fob' not found (exports: fib, add)"
  WasmError export_not_found(std::string_view export_name) const;

  std::string name;
  Limits limits;
  std::vector<ExportedFunction> exports;
  std::unordered_map<std::string, std::pair<std::size_t, std::uint32_t>, NameHash, std::equal_to<>>
      functions;
  std::unique_ptr<internal::InterpModule> engine;
  // One per import, in order: the WASI function it binds to, or null for the
  // metering hook warmpool.out_of_fuel.
  std::vector<const internal::WasiFunction*> imports;
  bool has_memory_export = false;
  std::optional<std::uint32_t> fuel_global;  // export positions
  std::optional<std::uint32_t> grow_global;
};

}  // namespace warmpool::wasm::wabt
