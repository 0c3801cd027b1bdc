// What a compiled V8 module holds: the prepared module's metadata and V8's compiled code,
// which every instance's isolate adopts with WasmModuleObject::FromCompiledModule.
#pragma once

#include <v8.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "warmpool/wasm/error.hpp"
#include "warmpool/wasm/types.hpp"
#include "warmpool/wasm/v8.hpp"
#include "wasm/common/prepare.hpp"

namespace warmpool::wasm::v8 {

struct Module::Impl {
  std::string name;
  Limits limits;
  std::vector<ExportedFunction> exports;
  // Set when an import cannot be satisfied; every instantiation fails with it.
  std::optional<WasmError> link_error;
  // The prepared binary counts fuel in the exported `__warmpool_fuel` global.
  bool metered = false;
  // The prepared binary flags refused memory.grow calls in `__warmpool_grow_failed`.
  bool grow_tracked = false;
  // The module's mutable state under hidden exports, for reset() in place.
  wasm::internal::ExposedState state;
  // Shared native code; CompiledWasmModule is a handle on a refcounted V8 NativeModule.
  std::shared_ptr<::v8::CompiledWasmModule> compiled;
};

}  // namespace warmpool::wasm::v8
