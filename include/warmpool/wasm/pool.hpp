// warmpool/wasm/pool.hpp — pooling wasm::Instance: the ready-made lifecycle.
//
// The only header that joins the embedding API and the pool. InstanceLifecycle
// is a statically dispatched lifecycle (warmpool/lifecycle.hpp): a health check
// is one inline load, and `reset` puts memory, globals, tables and host data
// back to their post-instantiation state, so Recycle::Reset isolates calls as
// well as Recycle::Fresh does. Under Recycle::Reuse nothing is reset: guest
// memory and host data carry over from one checkout to the next.
//
//   using Pool = warmpool::InstancePool<warmpool::wasm::Instance, warmpool::wasm::WasmError,
//                                       warmpool::wasm::InstanceLifecycle>;
//   auto pool = Pool::create({.max_instances = 8, .recycle = warmpool::Recycle::Reset},
//                            [linked] { return warmpool::wasm::Instance::instantiate(linked); });
//   auto out = pool->checkout()->get().call_bytes("upper", bytes);
//
// Opt-in, for servers whose worker threads each run a checkout's calls: a
// checkout bound to the taking thread for its whole span (Instance::
// ThreadBinding), so on V8 its calls nest in one isolate lock. It must be
// released on the thread that took it (released on another, the process stops
// with a message), and ends its binding before the instance goes back.
//
//   auto held = warmpool::wasm::checkout_bound(*pool);   // std::expected
//   for (...) held->call(fib, 1);
#pragma once

#include <expected>
#include <utility>

#include "warmpool/instance_pool.hpp"
#include "warmpool/lifecycle.hpp"
#include "warmpool/wasm/instance.hpp"

namespace warmpool::wasm {

struct InstanceLifecycle {
  static bool is_healthy(const Instance& instance) noexcept { return instance.healthy(); }
  static bool reset(Instance& instance) { return instance.reset(); }
};

static_assert(PoolLifecycle<InstanceLifecycle, Instance>);

// The same hooks, type-erased, for code that holds a Lifecycle<Instance>.
inline Lifecycle<Instance> lifecycle() {
  Lifecycle<Instance> lc;
  lc.is_healthy = [](const Instance& instance) { return instance.healthy(); };
  lc.reset = [](Instance& instance) { return instance.reset(); };
  return lc;
}

// A pool checkout bound to the thread that took it (checkout_bound).
template <class L>
class BoundCheckout {
 public:
  Instance& get() const noexcept { return checkout_.get(); }
  Instance& operator*() const noexcept { return get(); }
  Instance* operator->() const noexcept { return &get(); }

 private:
  template <class M>
  friend std::expected<BoundCheckout<M>, WasmError> checkout_bound(
      InstancePool<Instance, WasmError, M>& pool);
  BoundCheckout(PooledInstance<Instance, WasmError, L> checkout, Instance::ThreadBinding binding)
      : checkout_(std::move(checkout)), binding_(std::move(binding)) {}

  // Declared first, destroyed last: the binding ends before the instance goes back.
  PooledInstance<Instance, WasmError, L> checkout_;
  Instance::ThreadBinding binding_;
};

// A checkout whose instance is bound to the calling thread until the checkout
// ends; the pool's error, or the binding's (an instance given back to the pool
// while still bound to another thread; it goes back again).
template <class L>
std::expected<BoundCheckout<L>, WasmError> checkout_bound(
    InstancePool<Instance, WasmError, L>& pool) {
  auto checkout = pool.checkout();
  if (!checkout) return std::unexpected(std::move(checkout.error()));
  auto binding = checkout->get().bind_to_this_thread();
  if (!binding) return std::unexpected(std::move(binding.error()));
  return BoundCheckout<L>(std::move(*checkout), std::move(*binding));
}

}  // namespace warmpool::wasm
