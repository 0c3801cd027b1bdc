#include "wasm/common/prepare_parse.hpp"

#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/resolve-names.h>
#include <wabt/wast-parser.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <utility>
#include <vector>

#include "wasm/common/binary_precheck.hpp"
#include "wasm/common/prepare.hpp"
#include "wasm/common/prepare_ir.hpp"
#include "wasm/common/probe_process.hpp"
#include "wasm/common/text.hpp"
#include "wasm/common/text_precheck.hpp"

namespace warmpool::wasm::internal {
namespace {

// Deeper nesting than this is rejected: wabt's text parser recurses once per
// level, its IR is destroyed and written out recursively, and a hostile module
// must not be able to overflow the stack. Compilers emit a few dozen levels at
// most.
constexpr std::size_t kMaxNesting = 2048;

std::size_t max_nesting(::wabt::Module& module) {
  std::size_t deepest = 0;
  for (::wabt::Func* func : module.funcs) {
    for_each_nested_list(func->exprs, [&](::wabt::ExprList&, std::size_t depth) {
      deepest = std::max(deepest, depth);
    });
  }
  return deepest;
}

// Tears nested expression lists down iteratively, so destroying an absurdly
// deep module cannot overflow the stack.
void dismantle_bodies(::wabt::Module& module) {
  std::vector<::wabt::ExprList> pending;
  for (::wabt::Func* func : module.funcs) pending.push_back(std::move(func->exprs));
  while (!pending.empty()) {
    ::wabt::ExprList list = std::move(pending.back());
    pending.pop_back();
    for (::wabt::Expr& expr : list) {
      switch (expr.type()) {
        case ::wabt::ExprType::Block:
          pending.push_back(std::move(::wabt::cast<::wabt::BlockExpr>(&expr)->block.exprs));
          break;
        case ::wabt::ExprType::Loop:
          pending.push_back(std::move(::wabt::cast<::wabt::LoopExpr>(&expr)->block.exprs));
          break;
        case ::wabt::ExprType::If: {
          auto* if_expr = ::wabt::cast<::wabt::IfExpr>(&expr);
          pending.push_back(std::move(if_expr->true_.exprs));
          pending.push_back(std::move(if_expr->false_));
          break;
        }
        case ::wabt::ExprType::Try: {
          auto* try_expr = ::wabt::cast<::wabt::TryExpr>(&expr);
          pending.push_back(std::move(try_expr->block.exprs));
          for (::wabt::Catch& c : try_expr->catches) pending.push_back(std::move(c.exprs));
          break;
        }
        default: break;
      }
    }
  }
}

std::expected<ParsedModule, WasmError> parse_text(std::span<const std::uint8_t> bytes,
                                                  const std::string& name,
                                                  const ::wabt::Features& features) {
  ::wabt::Errors errors;
  ParsedModule parsed;
  parsed.lexer = ::wabt::WastLexer::CreateBufferLexer(name, bytes.data(), bytes.size(), &errors);
  ::wabt::WastParseOptions options(features);
  if (::wabt::Failed(
          ::wabt::ParseWatModule(parsed.lexer.get(), &parsed.module, &errors, &options)) ||
      parsed.module == nullptr ||
      ::wabt::Failed(::wabt::ResolveNamesModule(parsed.module.get(), &errors))) {
    if (errors.empty())
      return std::unexpected(compile_error(name, "not a .wasm binary or .wat module"));
    return std::unexpected(diagnostics_error(errors, ::wabt::Location::Type::Text, name));
  }
  return parsed;
}

std::expected<ParsedModule, WasmError> parse(std::span<const std::uint8_t> bytes,
                                             const std::string& name,
                                             const ::wabt::Features& features) {
  ::wabt::Errors errors;
  if (is_wasm_binary(bytes)) {
    // Never let ReadBinaryIr see a binary the validating reader rejects: on
    // some of them it aborts the process (see binary_precheck.hpp).
    if (!precheck_binary(bytes.data(), bytes.size(), features, &errors)) {
      return std::unexpected(diagnostics_error(errors, ::wabt::Location::Type::Binary, name));
    }
    ParsedModule parsed;
    parsed.module = std::make_unique<::wabt::Module>();
    ::wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                      /*stop_on_first_error=*/true,
                                      /*fail_on_custom_section_error=*/false);
    if (::wabt::Failed(::wabt::ReadBinaryIr(name.c_str(), bytes.data(), bytes.size(), options,
                                            &errors, parsed.module.get()))) {
      return std::unexpected(diagnostics_error(errors, ::wabt::Location::Type::Binary, name));
    }
    return parsed;
  }
  if (!starts_like_text(bytes)) {
    std::string head;
    for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 4); ++i) {
      static constexpr char kHex[] = "0123456789abcdef";
      if (i != 0) head += ' ';
      head += kHex[bytes[i] >> 4];
      head += kHex[bytes[i] & 0xf];
    }
    return std::unexpected(
        compile_error(name, cat("neither a WebAssembly binary (no \\0asm magic; it starts with ",
                                head, ") nor WebAssembly text (which starts with '(')")));
  }
  // Never let the parser see text it would abort on: the shapes a scan can
  // see are reported with their line and column (see text_precheck.hpp); the
  // rest only a parse can find, so one runs in a helper process first
  // (probe_process.hpp).
  const TextPrecheck scan = precheck_text(bytes, kMaxNesting, &errors);
  if (scan == TextPrecheck::refused) {
    return std::unexpected(diagnostics_error(errors, ::wabt::Location::Type::Text, name));
  }
  if (scan == TextPrecheck::passed_naming_elem) {
    // For the life of the process: the helper exits when the process does.
    static ProbeProcess& text_parser = *new ProbeProcess([](std::span<const std::uint8_t> text) {
      (void)parse_text(text, "probe.wat", ::wabt::Features());  // prepare_module's features
    });
    if (auto death = text_parser.death_on(bytes)) {
      return std::unexpected(compile_error(
          name, cat("malformed module: wabt's text parser ", *death,
                    " (look at the element segments: it reads their expressions past an error)")));
    }
  }
  return parse_text(bytes, name, features);
}

// Last line of defence: wabt 1.0.32 throws on some malformed input (the
// known case, std::length_error for `(@"`, is stopped by precheck_text,
// because wabt leaks the module when it throws); any other such input is a
// malformed module like the rest, never std::terminate.
std::expected<ParsedModule, WasmError> parse_or_reject(std::span<const std::uint8_t> bytes,
                                                       const std::string& name,
                                                       const ::wabt::Features& features) {
  try {
    return parse(bytes, name, features);
  } catch (const std::exception& e) {
    return std::unexpected(
        compile_error(name, cat("malformed module (wabt's reader failed: ", e.what(), ")")));
  }
}

}  // namespace

WasmError compile_error(std::string_view name, std::string_view what) {
  return {ErrorKind::compile, cat(name, ": ", what)};
}

// wabt's diagnostics in wabt's own layout, but always led by the module's
// name: "fib.wat:3:5: error: ..." for text, "fib.wasm: 000000d: error: ..."
// for binaries (wabt prints no file name for those). Formatted here, from the
// line/column/offset only, so no message ever depends on the file name a
// Location points to.
WasmError diagnostics_error(const ::wabt::Errors& errors, ::wabt::Location::Type type,
                            std::string_view name) {
  constexpr std::size_t kShown = 3;
  std::string text;
  std::size_t shown = 0;
  for (const ::wabt::Error& e : errors) {
    if (e.error_level != ::wabt::ErrorLevel::Error) continue;
    if (shown == kShown) {
      text += " (and more)";
      break;
    }
    if (shown != 0) text += "; ";
    if (type == ::wabt::Location::Type::Binary) {
      char offset[24];
      std::snprintf(offset, sizeof offset, "%07zx", e.loc.offset);
      text += cat(name, ": ", offset, ": error: ", e.message);
    } else {
      text += cat(name, ":", e.loc.line, ":", e.loc.first_column, ": error: ", e.message);
    }
    ++shown;
  }
  if (shown == 0) text = cat(name, ": invalid module");
  return {ErrorKind::compile, std::move(text)};
}

bool is_wasm_binary(std::span<const std::uint8_t> bytes) noexcept {
  static constexpr std::uint8_t kMagic[] = {0x00, 0x61, 0x73, 0x6d};
  return bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0;
}

std::expected<ParsedModule, WasmError> parse_module(std::span<const std::uint8_t> bytes,
                                                    const std::string& name,
                                                    const ::wabt::Features& features) {
  auto parsed = parse_or_reject(bytes, name, features);
  if (!parsed) return parsed;
  if (max_nesting(*parsed->module) > kMaxNesting) {
    dismantle_bodies(*parsed->module);
    return std::unexpected(
        compile_error(name, cat("blocks nested deeper than ", kMaxNesting, " levels")));
  }
  return parsed;
}

}  // namespace warmpool::wasm::internal
