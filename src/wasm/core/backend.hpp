// wasm/core/backend.hpp — internal: what an engine implements for the embedding API.
//
// Everything both engines share (compiling through the preparation pass,
// linking, limits, stop classification, `_initialize`, the bytes ABI, host
// functions) is written once in src/wasm/core above this interface; a backend
// only loads a prepared binary, runs functions by index with raw 64-bit
// values (see warmpool/wasm/types.hpp, "Raw values"), and calls back into the
// core for every import. One backend object per engine lives for the whole
// process.
//
//   const Backend& engine = wabt_backend();
//   auto module = engine.compile(prepared, spec, &error);
//   auto instance = module->create_instance(imports);   // imports: an ImportHandler
//   if (!instance->instantiate(&error)) ...;            // runs the start function
//   instance->invoke(function_index, args, results, &trap);
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "warmpool/wasm/types.hpp"
#include "wasm/common/prepare.hpp"

namespace warmpool::wasm::internal {

// The globals the core reads and writes around a call, by slot.
enum class GlobalSlot : std::uint32_t { fuel, grow_failed };
inline constexpr std::size_t kGlobalSlots = 2;

// What the core tells a backend about a module it compiles.
struct BackendModuleSpec {
  std::string name;
  // Functions the core calls, in the order of Module::exports(); invoke()'s index.
  std::vector<ExportedFunction> functions;
  // Every import of the prepared binary, in order, the metering import included.
  std::vector<FunctionType> imports;
  std::vector<std::string> import_modules;
  std::vector<std::string> import_names;
  ExposedState state;
};

// The core's side of a running instance: every import call lands here.
class ImportHandler {
 public:
  // Runs import `index` with `args` (one per parameter) and writes one value
  // per result. False: the call must stop; the core has recorded why.
  virtual bool call_import(std::uint32_t index, std::span<const std::uint64_t> args,
                           std::span<std::uint64_t> results) = 0;

 protected:
  ~ImportHandler() = default;
};

class BackendInstance {
 public:
  virtual ~BackendInstance() = default;

  // Brackets every use from one thread (V8: locker, isolate and context
  // scopes); everything below runs between them, or inside an import call.
  virtual void enter() {}
  virtual void leave() {}
  // A thread binding (Instance::ThreadBinding), on its thread: what enter() takes per thread
  // (V8: the locker and isolate scope) is kept from bind_thread() to unbind_thread(), so
  // enter()/leave() in between nest inside it.
  virtual void bind_thread() {}
  virtual void unbind_thread() {}

  // Builds the wasm instance (again, on a second call: a fresh one replacing
  // the first); runs the start function. False with `error` set on failure.
  virtual bool instantiate(std::string* error) = 0;
  // Runs function `index` of BackendModuleSpec::functions. False with the
  // engine's trap text in `trap`.
  virtual bool invoke(std::uint32_t index, std::span<const std::uint64_t> args,
                      std::span<std::uint64_t> results, std::string* trap) = 0;
  // Memory 0; empty when there is none. Valid until the next call or grow.
  virtual std::span<std::uint8_t> memory() = 0;
  // Globals the prepared module exports (only slots it has).
  virtual std::uint64_t global(GlobalSlot slot) = 0;
  virtual void set_global(GlobalSlot slot, std::uint64_t bits) = 0;

  // Records the post-instantiation state; restore() puts it back in place,
  // or returns false when it cannot (the core may then instantiate() again).
  virtual void snapshot() = 0;
  virtual bool restore() = 0;
  // Whether instantiate() may be called again to reset (V8: within the same
  // isolate); wabt cannot shrink a grown memory, nor does it need to.
  virtual bool reinstantiates() const { return false; }

  // From any thread: makes the running guest stop soon (a deadline).
  virtual void interrupt() {}
  // After a stopped call: forgets a pending interrupt.
  virtual void clear_interrupt() {}
};

// Where a new instance lives and which of its imports call another instance's exports
// directly (Linker::define_instance). Every BackendInstance named here is of the same engine
// and outlives the new one.
struct InstanceLinks {
  // The instance whose store (wabt) / isolate (V8) the new one joins; null: one of its own.
  BackendInstance* home = nullptr;
  struct Import {
    BackendInstance* exporter = nullptr;  // null: the import is a host call (ImportHandler)
    std::string_view export_name;
  };
  // Per import of the prepared binary, or empty when every import is a host call.
  std::vector<Import> imports;
};

class BackendModule {
 public:
  virtual ~BackendModule() = default;
  // The engine's instance, not yet instantiated; `imports` and `links` outlive it.
  virtual std::unique_ptr<BackendInstance> create_instance(ImportHandler& imports,
                                                           const InstanceLinks& links) const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // How the preparation pass rewrites modules for this engine.
  virtual PrepareOptions prepare_options() const { return {}; }
  // Whether the engine stops a guest at its deadline itself (interrupt());
  // otherwise the metering must also poll the deadline.
  virtual bool interrupts_at_deadline() const { return false; }
  // Null with `error` set (ErrorKind::compile) when the engine rejects it.
  virtual std::unique_ptr<BackendModule> compile(const PreparedModule& prepared,
                                                 const BackendModuleSpec& spec,
                                                 std::string* error) const = 0;
};

const Backend& wabt_backend();

}  // namespace warmpool::wasm::internal
