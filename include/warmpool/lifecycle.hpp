// warmpool/lifecycle.hpp — what a pool does with an instance between uses.
//
// A `Lifecycle<T>` is the small, engine-specific half of pooling (deadpool's
// "manager"): how to put an instance back into its just-created state, how to
// tell that it is broken, and what to do just before it is destroyed. The pool
// itself knows nothing about WebAssembly; each loader ships a ready-made
// lifecycle (see warmpool/wasm/).
//
//   warmpool::Lifecycle<Conn> lc;
//   lc.reset = [](Conn& c) { return c.rollback(); };
//   lc.is_healthy = [](const Conn& c) { return !c.broken(); };
//   auto pool = warmpool::InstancePool<Conn, Err>::create(cfg, make_conn, lc);
//
// Every member is optional; an empty one means "nothing to do" (reset
// succeeds, the instance is healthy, destruction needs no hook).
#pragma once

#include <functional>

namespace warmpool {

template <class T>
struct Lifecycle {
  // Restores the instance to its just-created state. Runs on the releasing
  // thread under `Recycle::Reset`; returning false destroys the instance.
  std::function<bool(T&)> reset;
  // Checked on every release; false destroys the instance (a trapped plugin).
  std::function<bool(const T&)> is_healthy;
  // Runs once, just before the pool destroys an instance it owns.
  std::function<void(T&)> on_destroy;
};

}  // namespace warmpool
