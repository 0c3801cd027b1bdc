// wasm/legacy/legacy.hpp — internal: the per-engine API of warmpool/wasm/wabt.hpp and v8.hpp
// (deprecated) as thin wrappers over the embedding API, so their logic lives once.
//
// Both compile, then link against the WASI subset at once: a link error comes
// from Module::compile on either engine.
#pragma once

#include <expected>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "warmpool/wasm/instance.hpp"
#include "warmpool/wasm/linker.hpp"
#include "warmpool/wasm/module.hpp"

namespace warmpool::wasm::legacy {

struct ModuleState {
  Module module;
  LinkedModule linked;
};

inline std::expected<ModuleState, WasmError> link_with_wasi(
    std::expected<Module, WasmError> module) {
  if (!module) return std::unexpected(std::move(module.error()));
  auto linked = Linker().define_wasi().link(*module);
  if (!linked) return std::unexpected(std::move(linked.error()));
  return ModuleState{std::move(*module), std::move(*linked)};
}

inline std::expected<ModuleState, WasmError> compile(Engine engine,
                                                     std::span<const std::uint8_t> bytes,
                                                     const Limits& limits, std::string name) {
  return link_with_wasi(Module::compile(engine, bytes, limits, std::move(name)));
}

inline std::expected<ModuleState, WasmError> load_file(Engine engine,
                                                       const std::filesystem::path& path,
                                                       const Limits& limits) {
  return link_with_wasi(Module::load_file(engine, path, limits));
}

// What a legacy Instance holds: the instance, and the legacy Module it reports.
template <class LegacyModule>
struct InstanceState {
  std::shared_ptr<const LegacyModule> module;
  Instance instance;
};

}  // namespace warmpool::wasm::legacy
