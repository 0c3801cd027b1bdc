// wasm/core/module_impl.hpp — internal: what a compiled Module holds, whatever the engine.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "warmpool/wasm/module.hpp"
#include "wasm/core/backend.hpp"

namespace warmpool::wasm {

struct Module::Impl {
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  // Position in `exports`, or nullopt.
  std::optional<std::uint32_t> find(std::string_view export_name) const {
    auto it = positions.find(export_name);
    if (it == positions.end()) return std::nullopt;
    return it->second;
  }
  // "fib.wasm: export 'fob' not found (exports: fib, add)"
  WasmError export_not_found(std::string_view export_name) const;

  const internal::Backend* backend = nullptr;
  std::string name;
  Limits limits;
  std::vector<ExportedFunction> exports;
  std::unordered_map<std::string, std::uint32_t, NameHash, std::equal_to<>> positions;
  std::vector<ImportType> imports;  // the module's own
  bool metered = false;             // the prepared binary's last import is the metering hook
  bool grow_tracked = false;
  std::unique_ptr<internal::BackendModule> engine;
};

}  // namespace warmpool::wasm
