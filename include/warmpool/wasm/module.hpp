// warmpool/wasm/module.hpp — a compiled WebAssembly module, for any engine.
//
// A Module is compiled once from .wasm bytes or .wat text, with its Limits
// compiled in (fuel metering, memory cap), and shared by every instance and
// thread: it is an immutable, cheap-to-copy handle. Imports are not resolved
// here but by a Linker (warmpool/wasm/linker.hpp), the same way on every
// engine.
//
//   auto engine = warmpool::wasm::Engine::wabt();
//   auto module = warmpool::wasm::Module::load_file(engine, "fib.wasm", {.fuel = 1'000'000});
//   if (!module) { std::cerr << module.error() << '\n'; return 1; }
//   for (const auto& import : module->imports()) std::cout << import.module << '.' << import.name;
//   auto fib = module->typed<std::int32_t(std::int32_t)>("fib");
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "warmpool/wasm/engine.hpp"
#include "warmpool/wasm/error.hpp"
#include "warmpool/wasm/function.hpp"
#include "warmpool/wasm/types.hpp"

namespace warmpool::wasm {

class Module {
 public:
  // `bytes` is a .wasm binary or .wat text (told apart by the "\0asm" magic).
  // `name` begins every error message about this module (load_file uses the
  // file name). Errors: compile (invalid bytes), memory_limit (initial memory
  // above limits.max_memory_pages), link (the reserved import module
  // `warmpool`).
  static std::expected<Module, WasmError> compile(Engine engine,
                                                  std::span<const std::uint8_t> bytes,
                                                  const Limits& limits = {},
                                                  std::string name = "module");
  // Errors: io (missing or unreadable file), then as compile().
  static std::expected<Module, WasmError> load_file(Engine engine,
                                                    const std::filesystem::path& path,
                                                    const Limits& limits = {});

  Engine engine() const;
  const std::string& name() const;
  const Limits& limits() const;
  // Exported functions with numeric signatures; warmpool's own `__warmpool*`
  // exports are never listed.
  const std::vector<ExportedFunction>& exports() const;
  // What the module imports; a Linker must define each function.
  const std::vector<ImportType>& imports() const;
  const ExportedFunction* find_export(std::string_view name) const;

  // ErrorKind::abi "x.wasm: export 'fob' not found (exports: fib, add)".
  std::expected<Function, WasmError> function(std::string_view name) const;
  // As function(), and the export must have type Signature.
  template <class Signature>
  std::expected<TypedFunction<Signature>, WasmError> typed(std::string_view name) const {
    auto f = function(name);
    if (!f) return std::unexpected(f.error());
    if (auto wrong = check_type(*f, TypedFunction<Signature>::type())) {
      return std::unexpected(*wrong);
    }
    return TypedFunction<Signature>(*f);
  }

  struct Impl;
  const Impl& impl() const noexcept { return *impl_; }

 private:
  explicit Module(std::shared_ptr<const Impl> impl) noexcept : impl_(std::move(impl)) {}
  std::optional<WasmError> check_type(const Function& f, const FunctionType& wanted) const;

  std::shared_ptr<const Impl> impl_;
};

}  // namespace warmpool::wasm
