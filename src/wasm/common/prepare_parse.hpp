// wasm/common/prepare_parse.hpp — internal: the first step of the preparation
// pass (prepare.hpp), reading .wasm or .wat bytes into wabt's IR without ever
// letting wabt abort, throw out of, or overflow the stack of the host on
// hostile input, and wabt's diagnostics as errors led by the module's name.
//
//   auto parsed = parse_module(bytes, "fib.wasm", ::wabt::Features());
//   if (!parsed) return std::unexpected(parsed.error());   // "fib.wasm: 000000d: error: ..."
//   ::wabt::Module& module = *parsed->module;
#pragma once

#include <wabt/common.h>
#include <wabt/error.h>
#include <wabt/feature.h>
#include <wabt/ir.h>
#include <wabt/wast-lexer.h>

#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "warmpool/wasm/error.hpp"

namespace warmpool::wasm::internal {

// A parsed module with what its Locations point into: for text, every
// Location's file name is a view of a string the lexer owns, so the lexer must
// outlive the module (members are destroyed in reverse order: module first).
struct ParsedModule {
  std::unique_ptr<::wabt::WastLexer> lexer;  // null for binaries
  std::unique_ptr<::wabt::Module> module;
};

// Errors: ErrorKind::compile, naming `name`: wabt's diagnostics, bytes that
// are neither binary nor text, or blocks nested too deep to handle safely.
std::expected<ParsedModule, WasmError> parse_module(std::span<const std::uint8_t> bytes,
                                                    const std::string& name,
                                                    const ::wabt::Features& features);

// "<name>: <what>", ErrorKind::compile.
WasmError compile_error(std::string_view name, std::string_view what);

// wabt's diagnostics in wabt's own layout, but always led by the module's
// name: "fib.wat:3:5: error: ..." for text, "fib.wasm: 000000d: error: ..."
// for binaries (wabt prints no file name for those). Formatted here, from the
// line/column/offset only, so no message ever depends on the file name a
// Location points to.
WasmError diagnostics_error(const ::wabt::Errors& errors, ::wabt::Location::Type type,
                            std::string_view name);

}  // namespace warmpool::wasm::internal
