// wasm/wabt/interp_engine.hpp — internal: the only code that touches wabt's interpreter.
//
// wabt 1.0.32's interp headers do not compile as C++20 or later (GCC 12
// rejects `FreeList<Ref>::~FreeList<Ref>()` in interp-inl.h), so the engine
// calls live in interp_engine.cpp, built as C++17, behind this C++17
// interface. Values cross it as raw 64-bit patterns (i32 zero-extended,
// floats by their bits); the caller knows the types from the module.
//
//   std::string error;
//   auto module = InterpModule::decode(binary, "fib.wasm", &error);
//   auto instance = InterpInstance::instantiate(*module, host_functions, &error);
//   std::uint64_t args[] = {25}, results[1];
//   if (!instance->call(export_index, args, 1, results, &error)) report(error);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace warmpool::wasm::internal {

enum class InterpKind { func, table, memory, global, tag };
// The first four match warmpool::wasm::ValueType, so the loader converts by cast.
enum class InterpType { i32, i64, f32, f64, other };

struct InterpImport {
  std::string module;
  std::string name;
  InterpKind kind;
  std::vector<InterpType> params;  // functions only
  std::vector<InterpType> results;
};

struct InterpExport {
  std::string name;
  InterpKind kind;
};

// A decoded module (wabt's ModuleDesc): immutable, shared by every instance.
class InterpModule {
 public:
  // Null with `error` set when wabt rejects the binary.
  static std::unique_ptr<InterpModule> decode(const std::vector<std::uint8_t>& binary,
                                              const std::string& name, std::string* error);
  ~InterpModule();

  const std::vector<InterpImport>& imports() const;
  const std::vector<InterpExport>& exports() const;

  struct Impl;

 private:
  friend class InterpInstance;
  explicit InterpModule(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A host function bound to an import: reads one raw value per parameter,
// writes one per result and returns true, or returns false to stop the guest
// (the call then fails).
using InterpHostFunction = std::function<bool(const std::uint64_t* args, std::uint64_t* results)>;

class InterpInstance;

// An import bound to another instance's exported function (same store), or, with a null
// `exporter`, to the host function given for it.
struct InterpLinkedImport {
  InterpInstance* exporter = nullptr;
  std::string export_name;
};

// One instance in its own wabt Store, or in the store of another instance it is linked to.
// Not thread-safe; movable between threads between calls (with every instance of its store).
class InterpInstance {
 public:
  // `imports` has one function per module import, in order; `linked` is empty or has one
  // entry per import, and its exporters share `home`'s store (home: null for a new store).
  // Null with `error` set (wabt's trap text) when instantiation fails.
  static std::unique_ptr<InterpInstance> instantiate(
      const InterpModule& module, std::vector<InterpHostFunction> imports, std::string* error,
      InterpInstance* home = nullptr, const std::vector<InterpLinkedImport>& linked = {});
  ~InterpInstance();

  // Calls the function exported at `export_index` (a position in
  // InterpModule::exports()) with one value per parameter, writing one per
  // result. False with wabt's trap text in `trap` on failure.
  bool call(std::uint32_t export_index, const std::uint64_t* args, std::size_t arg_count,
            std::uint64_t* results, std::string* trap);

  // Memory 0 (null / 0 when the module has none). The pointer changes when
  // the memory grows.
  std::uint8_t* memory_data();
  std::uint64_t memory_size() const;

  // The global exported at `export_index`.
  std::uint64_t global(std::uint32_t export_index) const;
  void set_global(std::uint32_t export_index, std::uint64_t bits);

  // Records memory, mutable globals, tables and the dropped state of data and
  // element segments; restore() puts all of it back (writing only the memory
  // chunks that differ) and fails when memory or a table changed size since.
  void snapshot();
  bool restore();

  struct Impl;
  Impl& impl() const noexcept { return *impl_; }

 private:
  explicit InterpInstance(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace warmpool::wasm::internal
