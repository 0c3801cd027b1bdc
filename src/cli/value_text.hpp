// Text <-> WebAssembly values for `warmpool run`: arguments are parsed by the
// export's parameter types, results printed in a form that parses back.
//
//   auto v = parse_value("-7", ValueType::i32);   // Value{int32_t{-7}}
//   std::string s = format_value(Value{2.5});      // "2.5"
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "warmpool/wasm/types.hpp"

namespace warmpool::cli {

std::string_view type_name(wasm::ValueType t);
// "(i32, i32) -> i64"
std::string signature(const wasm::FunctionType& type);
// The bytes ABI's export type (docs/plugin-abi.md): (i32 ptr, i32 len) -> i64.
bool is_bytes_export(const wasm::FunctionType& type);

// Error text names the expected type and the rejected text.
std::expected<wasm::Value, std::string> parse_value(std::string_view text, wasm::ValueType type);
std::string format_value(const wasm::Value& value);

}  // namespace warmpool::cli
