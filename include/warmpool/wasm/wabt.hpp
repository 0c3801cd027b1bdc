// warmpool/wasm/wabt.hpp — WebAssembly plugins on wabt's interpreter (the default engine).
//
// Deprecated: use the engine-neutral API (warmpool/wasm/wasm.hpp) with
// `Engine::wabt()`; this header is a thin wrapper over it (src/wasm/legacy),
// linking every module against the WASI subset only, and goes away once its
// last users have moved.
//
// A `Module` is compiled once from .wasm bytes or .wat text (with its limits
// compiled in: fuel and deadline metering, memory cap) and shared by every
// thread. An `Instance` is one isolated copy of the plugin — its own wabt
// store, memory, globals and tables — cheap to move and used by one thread at
// a time: exactly the `T` of `warmpool::InstancePool<T, WasmError>`.
//
//   namespace ww = warmpool::wasm;
//   auto module = ww::wabt::Module::load_file("upper.wasm", {.fuel = 10'000'000});
//   if (!module) { std::cerr << module.error() << '\n'; return 1; }
//   auto pool = warmpool::InstancePool<ww::wabt::Instance, ww::WasmError>::create(
//       {.max_instances = 8, .recycle = warmpool::Recycle::Reset},
//       [m = *module] { return ww::wabt::Instance::instantiate(m); },
//       ww::wabt::lifecycle());
//   auto instance = pool->checkout();
//   auto out = (*instance)->call_bytes("upper", bytes);   // out->output == "HELLO"
//
// Errors are values: a trap, fuel or deadline stop, or hitting the memory cap
// poisons the instance (healthy() becomes false), and the ready-made
// lifecycle() makes the pool destroy it instead of reusing it.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "warmpool/lifecycle.hpp"
#include "warmpool/wasm/error.hpp"
#include "warmpool/wasm/types.hpp"

namespace warmpool::wasm::wabt {

class Module {
 public:
  // `bytes` is a .wasm binary or .wat text (told apart by the "\0asm" magic).
  // `name` prefixes every error message (load_file passes the file name).
  // Errors: compile (invalid bytes), link (an import the host does not
  // provide), memory_limit (initial memory above limits.max_memory_pages).
  static std::expected<std::shared_ptr<const Module>, WasmError> compile(
      std::span<const std::uint8_t> bytes, const Limits& limits = {}, std::string name = "module");
  // Errors: io (unreadable file), then as compile().
  static std::expected<std::shared_ptr<const Module>, WasmError> load_file(
      const std::filesystem::path& path, const Limits& limits = {});

  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& name() const;
  const Limits& limits() const;
  // Exported functions with numeric signatures; warmpool's own additions
  // (`__warmpool*`) are never listed.
  const std::vector<ExportedFunction>& exports() const;
  const ExportedFunction* find_export(std::string_view name) const;

  struct Impl;  // defined in src/wasm/wabt

 private:
  friend class Instance;
  explicit Module(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Instance {
 public:
  // Creates the instance and runs the plugin's `_initialize` (WASI reactor)
  // when exported. Errors: instantiate (start/_initialize trapped or data did
  // not fit), or the kinds a call can fail with.
  static std::expected<Instance, WasmError> instantiate(std::shared_ptr<const Module> module);

  // Inline, so the moves a pool makes per acquire and release cost a pointer
  // copy each and destroying a moved-from Instance costs a null test.
  Instance(Instance&&) noexcept = default;
  Instance& operator=(Instance&&) noexcept = default;
  ~Instance() = default;

  // Calls a numeric export. Arguments must match its parameter types exactly
  // (ErrorKind::abi otherwise). If the guest calls proc_exit(0) the call
  // succeeds with no results.
  std::expected<std::vector<Value>, WasmError> call(std::string_view export_name,
                                                    std::span<const Value> args);
  // Calls a bytes-in/bytes-out export (docs/plugin-abi.md).
  std::expected<BytesOutput, WasmError> call_bytes(std::string_view export_name,
                                                   std::span<const std::uint8_t> input);

  // What the guest wrote to fd 1 / fd 2 during the most recent call.
  const std::string& last_stdout() const;
  const std::string& last_stderr() const;

  // False after a trap, fuel, deadline, memory-limit stop or a non-zero
  // proc_exit: such an instance must not be reused.
  bool healthy() const;
  // Restores memory, mutable globals and tables to their state right after
  // instantiation. False when impossible — memory or a table grew (wabt cannot
  // shrink them) or the instance is unhealthy — and the instance must then be
  // discarded.
  bool reset();

  const Module& module() const;

 private:
  struct Impl;
  // Defined where Impl is complete; called only for a live Impl.
  struct ImplDeleter {
    void operator()(Impl* impl) const noexcept;
  };
  explicit Instance(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl, ImplDeleter> impl_;
};

// For InstancePool<Instance, WasmError>: is_healthy -> healthy(), reset -> reset().
Lifecycle<Instance> lifecycle();

}  // namespace warmpool::wasm::wabt
