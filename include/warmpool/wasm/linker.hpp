// warmpool/wasm/linker.hpp — what the host gives a module's imports, and the
// per-instance host data its host functions share.
//
// A Linker maps `module.name` to host functions (warmpool/wasm/host_function.hpp).
// Linking a Module checks every import once, the same way on every engine,
// and yields a LinkedModule: what instances are made from (and what a pool's
// factory captures). A Linker starts empty; define_wasi() adds the WASI
// preview1 subset plugins use (docs/plugin-abi.md), which a host may leave out,
// extend, or override (a later definition of the same name replaces it).
//
//   struct Session { std::string log; };
//   warmpool::wasm::Linker linker;
//   linker.define_wasi()
//       .define("env", "log",
//               [](Caller& caller, std::int32_t ptr, std::int32_t len) {
//                 auto text = caller.memory().read(ptr, len);
//                 if (!text) return caller.stop(text.error().message());
//                 caller.data<Session>()->log.append(text->begin(), text->end());
//               })
//       .host_data([] { return Session{}; });            // one per instance
//   auto linked = linker.link(*module);    // "x.wasm: import 'env.log' has type (i32) -> (),
//                                          //  the host defines (i32, i32) -> ()"
//   auto instance = warmpool::wasm::Instance::instantiate(*linked);
//
// Linking to another instance (define_instance): a module's imports may call
// another module's exports directly, wasm to wasm, without a host function in
// between (a few ns on V8 against ~50 for a host call). Every instance linked
// this way gets its own instance of the exporter (a "linked instance"), made
// first, in the same wabt store / V8 isolate, and owned by the importer:
//
//   auto kernel = Linker().link(*kernel_module);           // exports alloc, memory
//   auto linked = Linker()
//       .define("env", "log", log_function)                 // host function
//       .define_instance("env", *kernel)                    // env.* it exports: wasm calls
//       .link(*plugin_module);
//   auto instance = Instance::instantiate(*linked);         // plugin + its own kernel
//   Instance* k = instance->linked_instance("env");         // its memory, its exports
//
// The rules:
// - Imports of `module` the exporter exports bind to it (their types must
//   match: "x.wasm: import 'env.alloc' has type (i32) -> (i32), 'kernel.wat'
//   (linked as 'env') exports it with type (i64) -> (i64)"); the others are
//   looked up among the host functions as usual.
// - Host functions reach the linked instance through Caller::linked_instance
//   (its memory, calls into its exports); so does the host, through
//   Instance::linked_instance. Use it for calls and memory only: it is reset,
//   bound to a thread and destroyed with its importer, never on its own.
// - Its calls, direct or through a host function, run inside the importer's
//   call and count against the importer's limits: the deadline stops them on
//   both engines (on wabt only when the exporter was compiled with a timeout or
//   fuel limit too, as the interpreter stops only metered code), fuel is drawn
//   from the importer's budget, and a trap in it fails the importer's call. Its
//   own memory cap is the one compiled into it.
// - Instance::reset() resets the linked instance first (in place, or by
//   instantiating it again, and then the importer too).
// - The exporter must have no linked instances of its own.
#pragma once

#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "warmpool/wasm/caller.hpp"
#include "warmpool/wasm/error.hpp"
#include "warmpool/wasm/host_function.hpp"
#include "warmpool/wasm/module.hpp"

namespace warmpool::wasm {

// A Module with its imports resolved: cheap to copy, shared by every instance.
class LinkedModule {
 public:
  const Module& module() const noexcept;

  struct Impl;
  const Impl& impl() const noexcept { return *impl_; }

 private:
  friend class Linker;
  explicit LinkedModule(std::shared_ptr<const Impl> impl) noexcept : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

class Linker {
 public:
  using HostDataFactory = std::function<internal::HostData()>;

  Linker() = default;

  // Defines `module.name` (replacing an earlier definition).
  Linker& define(std::string module, std::string name, HostFunction function);
  // The signature deduced from `f`'s types (see host_function.hpp).
  template <class F>
  requires(!std::is_same_v<std::decay_t<F>, HostFunction>) Linker& define(std::string module,
                                                                          std::string name, F f) {
    return define(std::move(module), std::move(name), HostFunction::wrap(std::move(f)));
  }
  // The WASI preview1 subset of docs/plugin-abi.md, in `wasi_snapshot_preview1`.
  Linker& define_wasi();
  // Imports of `module` that `exporter`'s module exports call a linked instance
  // of it, one per importing instance (see the header comment). Replaces an
  // earlier define_instance of the same `module`.
  Linker& define_instance(std::string module, LinkedModule exporter);

  // Every instance linked by this Linker gets its own `factory()` result as
  // host data, created before the instance runs any guest code (its start
  // function and `_initialize` may use it). Instance::reset() puts it back as
  // it was right after instantiation, like guest memory: from a copy taken
  // then when T is copyable, else from a new `factory()` (without what the
  // start function or `_initialize` recorded in it). Either way none of it
  // outlives a Reset or Fresh recycle. Host functions reach it as
  // `caller.data<T>()`.
  template <class F>
  Linker& host_data(F factory) {
    using T = std::remove_cvref_t<std::invoke_result_t<F&>>;
    host_data_ = [factory = std::move(factory)] {
      internal::HostData data{std::make_shared<T>(factory()), internal::type_id<T>()};
      if constexpr (std::is_copy_constructible_v<T>) {
        data.copy = [](const void* object) -> std::shared_ptr<void> {
          return std::make_shared<T>(*static_cast<const T*>(object));
        };
      }
      return data;
    };
    return *this;
  }

  // Checks every import of `module` against the definitions. Errors
  // (ErrorKind::link): "x.wasm: unknown import 'env.foo'", "x.wasm: import
  // 'env.log' has type (i32, i32) -> (), the host defines (i32) -> ()", and
  // the mismatches of define_instance above.
  std::expected<LinkedModule, WasmError> link(const Module& module) const;

 private:
  struct Definition {
    std::shared_ptr<const HostFunction> function;
    std::string qualified_name;  // "env.log"
  };
  // Keyed by module + '\0' + name: import names may contain any other byte.
  std::map<std::string, Definition, std::less<>> definitions_;
  std::map<std::string, LinkedModule, std::less<>> instances_;  // by import module
  HostDataFactory host_data_;
};

}  // namespace warmpool::wasm
