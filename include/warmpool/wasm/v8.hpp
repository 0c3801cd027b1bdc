// warmpool/wasm/v8.hpp — WebAssembly plugins on V8 (the JIT engine; Debian's libnode).
//
// Deprecated: use the engine-neutral API (warmpool/wasm/wasm.hpp) with
// `Engine::named("v8")`; this header is a thin wrapper over it (src/wasm/legacy),
// linking every module against the WASI subset only (a link error comes from
// Module::compile, as on wabt), and goes away once its last users have moved.
//
// A `Module` is compiled once — metering and the memory cap are injected first (see
// warmpool/wasm/types.hpp `Limits`) — and its machine code is shared by every `Instance`.
// Each `Instance` owns a V8 isolate and context of its own, so instances never share a heap
// and a misbehaving plugin cannot disturb another. An `Instance` is the `T` of
// `warmpool::InstancePool<T, WasmError>`: cheap to move, usable from one thread at a time, from
// any thread.
//
//   namespace wv8 = warmpool::wasm::v8;
//   auto module = wv8::Module::load_file("upper.wasm", {.timeout = std::chrono::milliseconds(50)});
//   if (!module) return fail(module.error());
//   auto pool = warmpool::InstancePool<wv8::Instance, warmpool::wasm::WasmError>::create(
//       {.max_instances = 8, .recycle = warmpool::Recycle::Reset},
//       [&] { return wv8::Instance::instantiate(*module); }, wv8::lifecycle());
//   auto out = pool->checkout()->get().call_bytes("upper", bytes);   // out->output == "HELLO"
//
// Isolation — which `Recycle` applies on V8:
//   `Recycle::Reset` is sound and the recommended mode. A guest can change four things:
//   memory, mutable globals, tables and (with data.drop / elem.drop) its passive segments.
//   When compiling, the loader exports memory 0 and every mutable global (wasi-libc's
//   __stack_pointer included) under hidden `__warmpool_` names and scans the code for table
//   writes and segment drops. For a module that has neither — every C plugin built here —
//   `reset()` restores in place: it writes back the globals' post-instantiation values and
//   the memory chunks that differ from a snapshot taken right after `_initialize` (every byte
//   is compared). Otherwise, and whenever memory has grown (it cannot shrink), `reset()`
//   builds a new `WebAssembly.Instance` of the already-compiled module inside the instance's
//   existing, warm isolate and drops the old one: the post-instantiation state by
//   construction, at the cost of one instantiation (and `_initialize`), still without the
//   isolate and context creation that dominate `Recycle::Fresh`. The only other objects the
//   guest can reach in the isolate are the host's imports, which keep no state between calls.
//   `Recycle::Fresh` is also correct, only slower. `reset()` returns false for an unhealthy
//   instance: after a trap, fuel, deadline or proc_exit stop the instance is destroyed, never
//   recycled.
//
// Limits: fuel through the injected metering (`warmpool.out_of_fuel`); the deadline through a
// watchdog that calls `v8::Isolate::TerminateExecution()`; the memory cap through the maximum
// written into the prepared module. Any of these stops makes the instance unhealthy.
//
// The V8 platform is initialised on first use and deliberately never torn down: instances may
// still be alive in static pools while the process exits.
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

namespace warmpool::wasm::v8 {

class Instance;

// A compiled module. Immutable; share it across threads through the shared_ptr.
class Module {
 public:
  // `bytes` is a .wasm binary or .wat text (told apart by the "\0asm" magic). `name` appears
  // in every error message about this module (load_file uses the file name).
  static std::expected<std::shared_ptr<const Module>, WasmError> compile(
      std::span<const std::uint8_t> bytes, const Limits& limits = {}, std::string name = "module");
  static std::expected<std::shared_ptr<const Module>, WasmError> load_file(
      const std::filesystem::path& path, const Limits& limits = {});

  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& name() const;
  const Limits& limits() const;
  // Exported functions, without the loader's own `__warmpool*` exports.
  const std::vector<ExportedFunction>& exports() const;
  const ExportedFunction* find_export(std::string_view name) const;

  struct Impl;

 private:
  explicit Module(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class Instance;
};

// One instance of a module in an isolate of its own. Move-only; one thread at a time.
class Instance {
 public:
  static std::expected<Instance, WasmError> instantiate(std::shared_ptr<const Module> module);

  // Inline, so the moves a pool makes per acquire and release cost a pointer
  // copy each and destroying a moved-from Instance costs a null test.
  Instance(Instance&&) noexcept = default;
  Instance& operator=(Instance&&) noexcept = default;
  ~Instance() = default;

  // Calls a numeric export; `args` must match its parameter types exactly (i64 travels through
  // V8 as a BigInt, losslessly).
  std::expected<std::vector<Value>, WasmError> call(std::string_view export_name,
                                                    std::span<const Value> args);
  // Calls a bytes export as described in docs/plugin-abi.md.
  std::expected<BytesOutput, WasmError> call_bytes(std::string_view export_name,
                                                   std::span<const std::uint8_t> input);

  // What the guest wrote to fd 1 / fd 2 during the most recent call() or call_bytes().
  const std::string& last_stdout() const;
  const std::string& last_stderr() const;

  // False after a trap, fuel, deadline, memory-limit or proc_exit stop: never reuse it.
  bool healthy() const;
  // Back to the post-instantiation state, in place or by re-instantiating inside this
  // instance's isolate (see the header comment); false if unhealthy or that failed.
  bool reset();
  const Module& module() const;

  struct Impl;

 private:
  // Defined where Impl is complete; called only for a live Impl.
  struct ImplDeleter {
    void operator()(Impl* impl) const noexcept;
  };
  explicit Instance(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl, ImplDeleter> impl_;
};

// is_healthy -> healthy(), reset -> reset(); use with Recycle::Reset (or Fresh).
Lifecycle<Instance> lifecycle();

}  // namespace warmpool::wasm::v8
