// warmpool/wasm/function.hpp — an exported function resolved once, so that
// calling it does no name lookup.
//
// A handle belongs to a Module and works with every Instance of that module
// (an instance of another module refuses it with ErrorKind::abi). A
// TypedFunction also checks, once, that the export has the C++ signature.
//
//   auto fib = module->typed<std::int32_t(std::int32_t)>("fib");   // expected<TypedFunction>
//   if (!fib) return fail(fib.error());     // "fib.wasm: export 'fib' has type ..."
//   auto r = instance->call(*fib, 25);      // expected<std::int32_t, WasmError>
#pragma once

#include <cstdint>
#include <string>

#include "warmpool/wasm/types.hpp"

namespace warmpool::wasm {

class Module;
class Instance;
namespace internal {
class InstanceCore;
}

class Function {
 public:
  const std::string& name() const noexcept { return export_->name; }
  const FunctionType& type() const noexcept { return export_->type; }

 private:
  friend class Module;
  friend class Instance;
  friend class internal::InstanceCore;
  Function(const void* module, std::uint32_t index, const ExportedFunction& e) noexcept
      : module_(module), index_(index), export_(&e) {}

  const void* module_;  // identifies the module; never dereferenced here
  std::uint32_t index_;
  const ExportedFunction* export_;
};

template <class Signature>
class TypedFunction;

// R is void or a WasmNumber; so is every A.
template <class R, class... A>
class TypedFunction<R(A...)> {
 public:
  const Function& function() const noexcept { return function_; }

  // The wasm signature of R(A...).
  static FunctionType type() {
    FunctionType t{{WasmTypeOf<A>::value...}, {}};
    if constexpr (!std::is_void_v<R>) t.results.push_back(WasmTypeOf<R>::value);
    return t;
  }

 private:
  friend class Module;
  explicit TypedFunction(Function f) noexcept : function_(f) {}
  Function function_;
};

}  // namespace warmpool::wasm
