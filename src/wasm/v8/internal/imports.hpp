// The imports of a prepared module and whether the V8 loader can satisfy them.
//
// V8's JavaScript import object accepts any host function for any import signature, so the
// loader checks signatures itself, once per module, against the WASI subset and the metering
// import; a mismatch is a link error naming `module.field`, as on wabt.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "warmpool/wasm/error.hpp"
#include "warmpool/wasm/types.hpp"

namespace warmpool::wasm::v8::internal {

struct ModuleImport {
  std::string module;
  std::string field;
  // Memories, tables and globals are never provided by the host.
  bool is_function = false;
  // Empty for a function signature with types warmpool cannot represent (v128, references).
  std::optional<FunctionType> type;
};

// Reads the import section of a valid binary.
std::expected<std::vector<ModuleImport>, WasmError> read_imports(
    std::span<const std::uint8_t> binary, std::string_view module_name);

// The link error for the first import the host does not provide, if any.
std::optional<WasmError> check_imports(const std::vector<ModuleImport>& imports,
                                       std::string_view module_name);

// "(i32, i32) -> i64"
std::string describe(const FunctionType& type);

}  // namespace warmpool::wasm::v8::internal
