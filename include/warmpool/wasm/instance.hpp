// warmpool/wasm/instance.hpp — one isolated, running copy of a module.
//
// An Instance has its own memory, globals, tables and host data, and is used
// by one thread at a time (any thread; move it between calls). It is the `T`
// of `warmpool::InstancePool<T, WasmError>` for every engine (the ready-made
// lifecycle is in warmpool/wasm/pool.hpp).
//
//   auto instance = warmpool::wasm::Instance::instantiate(*linked);
//   auto sum = instance->call("add", std::vector<Value>{1, 2});    // by name, checked
//   auto fib = linked->module().typed<std::int32_t(std::int32_t)>("fib");
//   auto r = instance->call(*fib, 25);                             // resolved once
//   auto out = instance->call_bytes("upper", bytes);               // docs/plugin-abi.md
//
// Errors are values. A trap, a fuel, deadline or memory-limit stop, a host
// function that throws or stops the call, and proc_exit poison the instance:
// healthy() turns false and every later call is refused with
// "x.wasm: f: instance was stopped earlier; create a new one" (ErrorKind::trap).
// A guest that ends a call with proc_exit(0) succeeds with no results (typed
// and raw calls leave their results zero) and is spent all the same.
//
// Thread binding: a server thread that makes many calls in a row can hold the
// instance on itself for the span of them; on V8 each call then skips taking
// the isolate's lock afresh (see ThreadBinding). On wabt it changes nothing
// but is legal, so code stays engine-neutral.
//
//   {
//     auto bound = instance->bind_to_this_thread();   // std::expected
//     for (int i = 0; i < 1000; ++i) instance->call(*fib, i);
//   }                                                  // the binding ends here
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "warmpool/wasm/caller.hpp"
#include "warmpool/wasm/error.hpp"
#include "warmpool/wasm/function.hpp"
#include "warmpool/wasm/linker.hpp"
#include "warmpool/wasm/memory.hpp"
#include "warmpool/wasm/module.hpp"
#include "warmpool/wasm/types.hpp"

namespace warmpool::wasm {

namespace internal {
// The part of an instance's state that inline members read.
struct InstanceHead {
  bool healthy = true;
};
}  // namespace internal

class Instance {
 public:
  // Creates the host data, instantiates (running the start function) and runs
  // a reactor's `_initialize` when exported, all under one call's limits.
  // Errors: instantiate (guest code trapped, or data did not fit), abi
  // (`_initialize` of the wrong type), or a limit's kind.
  static std::expected<Instance, WasmError> instantiate(const LinkedModule& linked);

  // Holds an instance on the thread that made it until it is destroyed (or
  // moved from); calls in between are cheaper on V8. While it exists:
  // - calls from other threads are refused (ErrorKind::abi, "... instance is
  //   bound to another thread ...") instead of waiting for the V8 lock forever;
  // - it must end on its own thread and before the instance is destroyed,
  //   and memory() and reset() must not be used from another thread: each of
  //   those stops the process with a message (V8's lock cannot be given back
  //   from another thread, so there is no safe way to go on).
  // Bindings nest on one thread; the instance may move between threads only
  // while unbound. The pool's form is warmpool::wasm::checkout_bound (pool.hpp).
  class [[nodiscard]] ThreadBinding {
   public:
    ThreadBinding(ThreadBinding&& other) noexcept : head_(std::exchange(other.head_, nullptr)) {}
    ThreadBinding& operator=(ThreadBinding&&) = delete;
    ThreadBinding(const ThreadBinding&) = delete;
    ThreadBinding& operator=(const ThreadBinding&) = delete;
    ~ThreadBinding();

   private:
    friend class Instance;
    explicit ThreadBinding(internal::InstanceHead* head) noexcept : head_(head) {}
    internal::InstanceHead* head_;
  };
  // Binds this instance to the calling thread (ErrorKind::abi when it is bound
  // to another one).
  std::expected<ThreadBinding, WasmError> bind_to_this_thread();

  Instance(Instance&&) noexcept = default;
  Instance& operator=(Instance&&) noexcept = default;
  ~Instance() = default;

  // Calls an export by name; `args` must match its parameter types exactly
  // (ErrorKind::abi "x.wasm: add: expects (i32, i32) -> (i32), called with (i64)").
  std::expected<std::vector<Value>, WasmError> call(std::string_view export_name,
                                                    std::span<const Value> args);
  std::expected<std::vector<Value>, WasmError> call(const Function& function,
                                                    std::span<const Value> args);
  // A typed call: no lookup, no check beyond the handle's module.
  template <class R, class... A, class... Args>
  requires(sizeof...(A) ==
           sizeof...(Args)) std::expected<R, WasmError> call(const TypedFunction<R(A...)>& function,
                                                             Args... args) {
    const std::array<std::uint64_t, sizeof...(A)> raw{to_raw(static_cast<A>(args))...};
    std::array<std::uint64_t, std::is_void_v<R> ? 0 : 1> results{};
    if (auto done = call_raw(function.function(), raw, results); !done) {
      return std::unexpected(std::move(done.error()));
    }
    if constexpr (std::is_void_v<R>) {
      return {};
    } else {
      return from_raw_as<R>(results[0]);
    }
  }
  // Raw values (types.hpp, "Raw values"): one per parameter and per result.
  std::expected<void, WasmError> call_raw(const Function& function,
                                          std::span<const std::uint64_t> args,
                                          std::span<std::uint64_t> results);

  // Calls a bytes export as described in docs/plugin-abi.md.
  std::expected<BytesOutput, WasmError> call_bytes(std::string_view export_name,
                                                   std::span<const std::uint8_t> input);

  // Memory 0; see memory.hpp for how long the view stays valid.
  MemoryView memory();

  // The linked instance serving import module `module` (Linker::define_instance),
  // or null; owned by this instance (see linker.hpp for what it may be used for).
  Instance* linked_instance(std::string_view module) noexcept;

  // This instance's host data (Linker::host_data), or null when it has none of type T.
  template <class T>
  T* host_data() noexcept {
    return static_cast<T*>(host_data_of(internal::type_id<T>()));
  }

  // What the guest wrote to fd 1 / fd 2 (WASI) during the most recent call.
  const std::string& last_stdout() const;
  const std::string& last_stderr() const;

  // False once the instance was stopped (see the header comment): never reuse it.
  bool healthy() const noexcept { return head_->healthy; }
  // Back to the state right after instantiation, host data included (see
  // Linker::host_data): in place, or (V8) by instantiating again; false when
  // unhealthy or when that is impossible (wabt: memory or a table grew), and
  // the instance must then be discarded.
  bool reset();

  const Module& module() const;

 private:
  friend class internal::InstanceCore;
  struct Deleter {
    void operator()(internal::InstanceHead* head) const noexcept;
  };
  explicit Instance(std::unique_ptr<internal::InstanceHead, Deleter> head) noexcept
      : head_(std::move(head)) {}
  void* host_data_of(const void* type) noexcept;
  internal::InstanceCore& core() const noexcept;

  std::unique_ptr<internal::InstanceHead, Deleter> head_;
};

}  // namespace warmpool::wasm
