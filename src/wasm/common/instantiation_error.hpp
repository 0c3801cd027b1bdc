// wasm/common/instantiation_error.hpp — internal: how guest code run while an instance is built
// fails.
//
// Both engines run guest code before an instance exists: the start function,
// then a reactor's `_initialize`. A trap there means no instance could be
// made (`instantiate`); running out of fuel, time or memory keeps its kind,
// so callers can tell a hostile initialiser from a broken module.
//
//   if (!result) return std::unexpected(failed_while_instantiating(result.error()));
#pragma once

#include "warmpool/wasm/error.hpp"

namespace warmpool::wasm::internal {

inline WasmError failed_while_instantiating(const WasmError& error) {
  return {error.kind() == ErrorKind::trap ? ErrorKind::instantiate : error.kind(), error.message()};
}

}  // namespace warmpool::wasm::internal
