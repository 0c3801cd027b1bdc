// wabt's IR types as warmpool's: the four number types that Value carries.
// Shared by the preparation pass (export signatures) and the V8 loader's
// import check.
#pragma once

#include <wabt/ir.h>

#include <optional>
#include <utility>

#include "warmpool/wasm/types.hpp"

namespace warmpool::wasm::internal {

inline std::optional<ValueType> to_value_type(::wabt::Type type) {
  switch (type) {
    case ::wabt::Type::I32: return ValueType::i32;
    case ::wabt::Type::I64: return ValueType::i64;
    case ::wabt::Type::F32: return ValueType::f32;
    case ::wabt::Type::F64: return ValueType::f64;
    default: return std::nullopt;
  }
}

// nullopt when a parameter or result is not a number (v128, references).
inline std::optional<FunctionType> to_function_type(const ::wabt::FuncSignature& sig) {
  FunctionType type;
  for (::wabt::Type t : sig.param_types) {
    auto v = to_value_type(t);
    if (!v) return std::nullopt;
    type.params.push_back(*v);
  }
  for (::wabt::Type t : sig.result_types) {
    auto v = to_value_type(t);
    if (!v) return std::nullopt;
    type.results.push_back(*v);
  }
  return type;
}

}  // namespace warmpool::wasm::internal
