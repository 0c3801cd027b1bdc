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

#include "warmpool/bound_checkout.hpp"
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

// A pool checkout bound to the thread that took it (warmpool/bound_checkout.hpp).
template <class L>
using BoundCheckout = warmpool::BoundCheckout<Instance, WasmError, L>;
using warmpool::checkout_bound;

}  // namespace warmpool::wasm
